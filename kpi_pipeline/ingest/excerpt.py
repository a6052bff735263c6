"""Bounded, escaped excerpts: the only form in which a delivered file's text reaches an
error message, a quarantine reason or a failure report.

A hostile or broken file must not be able to flood a log with megabytes, forge log lines
(newlines), or rewrite a terminal (ANSI escapes, bidirectional overrides). An excerpt is
at most `EXCERPT_CHARS` characters of the text, with every control character written as
an escape (`\\n`, `\\x1b`, `\\u202e`) and, when cut, `…[N characters]` telling the original
length. The same rule exists as a Python function and as a Polars expression (row-wise,
for quarantine reasons); tests hold them to the same output.
"""

from __future__ import annotations

import unicodedata

import polars as pl

EXCERPT_CHARS = 200

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Unicode "format" characters that change how the text around them is shown: bidirectional
# embeddings, overrides and isolates (Trojan Source), line and paragraph separators.
_LAYOUT = "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"


def _escape_of(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# Every C0 and C1 control character, DEL and the layout characters above.
_ESCAPED_CHARS = [
    chr(code) for code in range(0x00, 0xA0) if unicodedata.category(chr(code)) == "Cc"
] + list(_LAYOUT)
_ESCAPES = {ord(char): _escape_of(char) for char in _ESCAPED_CHARS}


def escape(text: str) -> str:
    """`text` with every control character written as an escape, nothing cut."""
    return text.translate(_ESCAPES)


def cut_note(length: int) -> str:
    return f"…[{length:,} characters]"


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters of `text`, escaped; a longer text ends in `…[N characters]`."""
    shown = escape(text[:limit])
    return shown + cut_note(len(text)) if len(text) > limit else shown


def thousands(number: pl.Expr) -> pl.Expr:
    """A non-negative integer as text with thousands separators (`104,857,600`)."""
    return (
        number.cast(pl.String)
        .str.reverse()
        .str.replace_all(r"(\d{3})", "${1},")
        .str.reverse()
        .str.strip_chars_start(",")
    )


def excerpt_expr(text: pl.Expr, limit: int = EXCERPT_CHARS) -> pl.Expr:
    """`excerpt` as a Polars expression (null stays null)."""
    length = text.str.len_chars()
    shown = text.str.slice(0, limit).str.replace_many(
        _ESCAPED_CHARS, [_ESCAPES[ord(c)] for c in _ESCAPED_CHARS]
    )
    cut = pl.format("{}…[{} characters]", shown, thousands(length))
    return pl.when(length > limit).then(cut).otherwise(shown)


def bounded_expr(text: pl.Expr, limit: int = EXCERPT_CHARS) -> pl.Expr:
    """At most `limit` characters of a cell kept as data (a quarantined row's JSON record,
    whose encoding escapes what needs it), with the same `…[N characters]` note when cut."""
    length = text.str.len_chars()
    cut = pl.format("{}…[{} characters]", text.str.slice(0, limit), thousands(length))
    return pl.when(length > limit).then(cut).otherwise(text)


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_cut(text_sql: str, shown_sql: str, limit: int) -> str:
    return (
        f"case when length({text_sql}) > {limit} then {shown_sql} || '…[' || "
        f"format('{{:,}}', length({text_sql})) || ' characters]' else {shown_sql} end"
    )


def excerpt_sql(text_sql: str, limit: int = EXCERPT_CHARS) -> str:
    """`excerpt` as a DuckDB SQL expression over the SQL expression `text_sql`."""
    shown = f"left({text_sql}, {limit})"
    for char in _ESCAPED_CHARS:
        shown = f"replace({shown}, chr({ord(char)}), {_sql_literal(_ESCAPES[ord(char)])})"
    return _sql_cut(text_sql, shown, limit)


def bounded_sql(text_sql: str, limit: int = EXCERPT_CHARS) -> str:
    """`bounded_expr` as a DuckDB SQL expression."""
    return _sql_cut(text_sql, f"left({text_sql}, {limit})", limit)
