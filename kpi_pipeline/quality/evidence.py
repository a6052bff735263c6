"""Turn suite outcomes into what a Dagster check shows: verdict, severity and evidence."""

from __future__ import annotations

import json
from pathlib import Path

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue

from kpi_pipeline.quality.attribution import days_metadata, failing_days
from kpi_pipeline.quality.suites import ERROR, SuiteOutcome
from kpi_pipeline.quality.wording import plain_words


def _cell(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text.replace("|", "\\|").replace("\n", " ")[:120]


def evidence_table(outcomes: list[SuiteOutcome]) -> str:
    lines = [
        "| suite | expectation | column | severity | ok | observed | expected "
        "| failing rows | sample |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for suite in outcomes:
        for o in suite.outcomes:
            lines.append(
                f"| {suite.suite} | {o.expectation} | {o.column or ''} | {o.severity} | "
                f"{'yes' if o.success else 'NO'} | {_cell(o.observed)} | {_cell(o.expected)} | "
                f"{'' if o.unexpected_count is None else o.unexpected_count} | "
                f"{_cell(o.unexpected_sample) if o.unexpected_sample else ''} |"
            )
    return "\n".join(lines)


def check_result(outcomes: list[SuiteOutcome], docs: Path | None = None) -> AssetCheckResult:
    """Failed `error` expectations block publication; failed `warn` ones only mark it."""
    errors = [o for s in outcomes for o in s.errors]
    warnings = [o for s in outcomes for o in s.warnings]
    failing = errors or warnings
    suite_of = {id(o): s.suite for s in outcomes for o in s.outcomes}
    summary = [plain_words(o, suite_of.get(id(o), "")) for o in failing]
    return AssetCheckResult(
        passed=not failing,
        severity=AssetCheckSeverity.ERROR if errors else AssetCheckSeverity.WARN,
        description="; ".join(summary)[:1000] if failing else "all expectations met",
        metadata={
            **days_metadata(failing_days(outcomes) if failing else []),
            "rows_validated": MetadataValue.int(sum(s.rows for s in outcomes)),
            **({"gx_data_docs": MetadataValue.path(str(docs))} if docs else {}),
            "errors": MetadataValue.int(len(errors)),
            "warnings": MetadataValue.int(len(warnings)),
            "evidence": MetadataValue.md(evidence_table(outcomes)),
            "failures": MetadataValue.json(
                [
                    {
                        "expectation": o.expectation,
                        "column": o.column,
                        "severity": o.severity,
                        "observed": _cell(o.observed),
                        "expected": o.expected,
                        "unexpected_count": o.unexpected_count,
                        "sample": [_cell(v) for v in o.unexpected_sample],
                    }
                    for o in failing
                ]
            ),
        },
    )


def is_blocking(outcomes: list[SuiteOutcome]) -> bool:
    return any(o.severity == ERROR for s in outcomes for o in s.errors)
