"""DuckDB type names as Spark SQL's: the raw tables' contracts are written in DuckDB's names
(`VARCHAR`, `TIMESTAMPTZ`, `STRUCT(key VARCHAR, ...)[]`); on Spark nested types stay nested
(`array<struct<key:string, ...>>`). Pure, no pyspark."""

from __future__ import annotations

_SCALARS = {
    "VARCHAR": "string",
    "TEXT": "string",
    "STRING": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "INT": "int",
    "SMALLINT": "smallint",
    "DOUBLE": "double",
    "FLOAT": "float",
    "REAL": "float",
    "BOOLEAN": "boolean",
    "DATE": "date",
    # Spark's TIMESTAMP is an instant shown in the session's time zone (UTC on the server)
    "TIMESTAMPTZ": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp",
    "TIMESTAMP": "timestamp_ntz",
}


def _split_fields(body: str) -> list[str]:
    """`a VARCHAR, b STRUCT(c INT, d INT)` split at its top-level commas."""
    fields, depth, start = [], 0, 0
    for index, char in enumerate(body):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "," and depth == 0:
            fields.append(body[start:index].strip())
            start = index + 1
    fields.append(body[start:].strip())
    return [field for field in fields if field]


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a DuckDB type name: scalars by name, `X[]` as `array<X>`,
    `STRUCT(name T, ...)` as `struct<name:T, ...>`, `DECIMAL(p,s)` kept. A name Spark has
    no counterpart for is refused (ValueError), never guessed."""
    text = duckdb_type.strip()
    if text.endswith("[]"):
        return f"array<{spark_type(text[:-2])}>"
    upper = text.upper()
    if upper.startswith("STRUCT(") and text.endswith(")"):
        fields = []
        for field in _split_fields(text[len("STRUCT(") : -1]):
            name, _, kind = field.partition(" ")
            fields.append(f"{name.strip(chr(34))}:{spark_type(kind)}")
        return f"struct<{', '.join(fields)}>"
    if upper.startswith(("DECIMAL(", "NUMERIC(")):
        return "decimal" + text[text.index("(") :].replace(" ", "")
    if upper in _SCALARS:
        return _SCALARS[upper]
    raise ValueError(f"no Spark type for the DuckDB type {duckdb_type!r}")
