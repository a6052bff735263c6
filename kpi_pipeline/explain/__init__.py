"""Why a KPI moved between two periods: its change split exactly into contributions.

`decompose` splits a plain sum by segment and a ratio into each segment's mix and rate
effects (plus the part no segment explains when segments overlap); `chain` splits a product
of factors (LMDI); `explanation` holds the result; `wording` says it in one sentence;
`periods` resolves which periods are compared; `read` fetches the facts from the marts.
"""
