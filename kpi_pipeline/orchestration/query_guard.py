"""Which statements `kpi query` runs: exactly one read, checked before anything executes.

These checks give analysts a clear refusal in plain words; they are not the only safety
net. The warehouse's own guards (DuckDB: no file or extension access, locked settings;
PostgreSQL: a read-only transaction under a role without server-file privileges) stop a
statement that slips past them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

READ_HINT = (
    "use SELECT, WITH ... SELECT, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN; data changes "
    "only through the pipeline (kpi run / kpi backfill)"
)
POSTGRES_READ_HINT = (
    "use SELECT, WITH ... SELECT, VALUES, TABLE or EXPLAIN; data changes only through the "
    "pipeline (kpi run / kpi backfill)"
)
EXPLAIN_HINT = "explain one SELECT, e.g. explain select * from fct_kpi_daily"

# what a refused statement would have done, by its first keyword or DuckDB statement type
WHAT_IT_DOES = {
    "INSERT": "it changes data",
    "UPDATE": "it changes data",
    "DELETE": "it changes data",
    "TRUNCATE": "it changes data",
    "MERGE": "it changes data",
    "MERGE_INTO": "it changes data",
    "CREATE": "it creates objects",
    "DROP": "it drops objects",
    "ALTER": "it changes objects",
    "COMMENT": "it changes objects",
    "COPY": "it reads or writes files",
    "EXPORT": "it writes files",
    "IMPORT": "it reads files",
    "ATTACH": "it opens another database",
    "DETACH": "it closes a database",
    "INSTALL": "it installs an extension",
    "LOAD": "it loads an extension",
    "FORCE": "it installs an extension",
    "SET": "it changes a setting",
    "RESET": "it changes a setting",
    "USE": "it changes a setting",
    "PRAGMA": "it runs a pragma",
    "CALL": "it calls a procedure",
    "CHECKPOINT": "it writes the database",
    "VACUUM": "it writes the database",
    "ANALYZE": "it writes statistics",
    "DO": "it runs code",
    "BEGIN": "it controls transactions",
    "START": "it controls transactions",
    "COMMIT": "it controls transactions",
    "ROLLBACK": "it controls transactions",
    "TRANSACTION": "it controls transactions",
    "PREPARE": "it prepares a statement",
    "EXECUTE": "it runs a prepared statement",
    "NOTIFY": "it signals other sessions",
    "LISTEN": "it signals other sessions",
    "LOCK": "it locks tables",
    "GRANT": "it changes privileges",
    "REVOKE": "it changes privileges",
    "DECLARE": "it opens a cursor",
}


class QueryError(Exception):
    """A query that cannot run; `hint` says what to do instead."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def refused_statement(kind: str, hint: str = READ_HINT) -> QueryError:
    """The refusal of a statement that is not a read, named by its keyword."""
    kind = kind.upper()
    what = WHAT_IT_DOES.get(kind)
    detail = f" ({what})" if what else ""
    return QueryError(
        f"refused: {kind.replace('_', ' ')} is not a read{detail}; the warehouse is "
        "read-only for kpi query",
        hint,
    )


def statement_count_error(count: int) -> QueryError:
    if count == 0:
        return QueryError("no statement given", 'give one SELECT, e.g. kpi query "select 1"')
    return QueryError(
        f"{count} statements given; kpi query runs exactly one", "run one SELECT at a time"
    )


# ---- DuckDB: its own parser says what a statement is -------------------------------------


def check_duckdb_statement(parser: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Refuse (QueryError) anything but exactly one read: a SELECT (WITH, FROM-first,
    DESCRIBE, SHOW, SUMMARIZE and PIVOT parse as one), or an EXPLAIN / EXPLAIN ANALYZE of
    one. EXPLAIN is checked separately because DuckDB types `explain analyze copy ...` as
    EXPLAIN, and EXPLAIN ANALYZE runs the statement it explains."""
    statements = _parse_duckdb(parser, sql)
    if len(statements) != 1:
        raise statement_count_error(len(statements))
    statement = statements[0]
    if _is_duckdb_read(statement):
        return
    if statement.type == duckdb.StatementType.EXPLAIN:
        _check_duckdb_explain(parser, statement.query)
        return
    raise refused_statement(_duckdb_kind(statement))


def _parse_duckdb(parser: duckdb.DuckDBPyConnection, sql: str) -> list:
    try:
        return parser.extract_statements(sql)
    except (duckdb.Error, ValueError) as err:
        raise QueryError(
            f"the SQL does not parse: {first_line(err)}",
            "check the SQL; DuckDB's dialect: https://duckdb.org/docs/sql/introduction",
        ) from err


def _is_duckdb_read(statement) -> bool:
    """A SELECT; or a PIVOT without an IN list, which DuckDB runs as a MULTI statement (a
    temporary enum of the values, then the select)."""
    if statement.type == duckdb.StatementType.SELECT:
        return True
    words = duckdb_keywords(statement.query)
    return statement.type == duckdb.StatementType.MULTI and words[:1] == ["pivot"]


def _duckdb_kind(statement) -> str:
    """The analyst's own first keyword (INSTALL, RESET, CHECKPOINT read plainer than the
    statement types LOAD, SET, CALL), or the type when the statement starts with WITH."""
    words = duckdb_keywords(statement.query)
    if words and words[0] not in {"with", "("} and words[0].isalpha():
        return words[0]
    return str(statement.type).rsplit(".", 1)[-1]


def duckdb_keywords(query: str) -> list[str]:
    """The tokens of `query` in lower case, comments left out (DuckDB's tokenizer)."""
    tokens = _duckdb_tokens(query)
    return [text for text, _ in tokens]


def _duckdb_tokens(query: str) -> list[tuple[str, int]]:
    spans = duckdb.tokenize(query)
    ends = [start for start, _ in spans[1:]] + [len(query)]
    return [
        (query[start:end].strip().lower(), start)
        for (start, kind), end in zip(spans, ends, strict=True)
        if kind != duckdb.token_type.comment
    ]


def _check_duckdb_explain(parser: duckdb.DuckDBPyConnection, query: str) -> None:
    """EXPLAIN [ANALYZE] followed by exactly one read; anything else (an options list, a
    COPY, an INSTALL) is refused rather than explained."""
    tokens = _duckdb_tokens(query)
    analyze = len(tokens) > 1 and tokens[1][0] in {"analyze", "analyse"}
    inner_at = 2 if analyze else 1
    inner = query[tokens[inner_at][1] :] if len(tokens) > inner_at else ""
    try:
        statements = parser.extract_statements(inner)
    except (duckdb.Error, ValueError):
        statements = []
    if len(statements) == 1 and _is_duckdb_read(statements[0]):
        return
    if len(statements) != 1:
        raise QueryError(
            "refused: kpi query runs only EXPLAIN or EXPLAIN ANALYZE of one SELECT, without "
            "options",
            EXPLAIN_HINT,
        )
    kind = _duckdb_kind(statements[0]).upper()
    if analyze:
        raise QueryError(
            f"refused: EXPLAIN ANALYZE runs the statement it explains, and {kind} is not a "
            "read; the warehouse is read-only for kpi query",
            EXPLAIN_HINT,
        )
    raise QueryError(f"refused: kpi query explains only a SELECT, not {kind}", EXPLAIN_HINT)


# ---- PostgreSQL: a conservative reading of the text, then the server's own parser --------

# one name per line of defence: functions that reach the server's files, programs or other
# databases, run SQL given as text (which would hide a name from this check), change the
# session's role or settings, control the server; catalogs that hold credentials
_DENIED_NAMES = {
    "reads or writes the server's files": (
        r"pg_read_file|pg_read_binary_file|pg_ls_\w*|pg_stat_file|pg_file_\w*|pg_logdir_ls"
        r"|pg_current_logfile|lo_\w+|pg_largeobject\w*"
    ),
    "connects to another database": r"dblink\w*",
    "changes the session's role or settings": r"set_config",
    "runs SQL given as text": r"\w*to_xml\w*|ts_stat|ts_rewrite",
    "holds credentials": r"pg_authid|pg_shadow|pg_user_mappings?",
    "controls the server or other sessions": (
        r"pg_terminate_backend|pg_cancel_backend|pg_reload_conf|pg_rotate_logfile\w*"
        r"|pg_promote|pg_switch_wal|pg_create_\w+|pg_drop_\w+|pg_replication_\w+"
        r"|pg_logical_\w+|pg_log_backend_memory_contexts|pg_import_system_collations"
        r"|pg_advisory\w*|pg_notify"
    ),
}
_DENIED = [(re.compile(rf"\b(?:{names})\b"), why) for why, names in _DENIED_NAMES.items()]
_UNICODE_ESCAPE = re.compile(r"\bu&['\"]")
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
POSTGRES_QUERY_WORDS = {"select", "with", "values", "table"}
DUCKDB_ONLY_WORDS = {"describe", "show", "summarize", "pivot", "unpivot", "from"}


@dataclass(frozen=True)
class PostgresStatement:
    """What the server is given: `body` (the analyst's SQL from its first keyword, a
    trailing `;` removed), to run through a cursor (`explain` false) or to explain."""

    body: str
    explain: bool = False
    verbose: bool = False


def check_postgres_statement(sql: str) -> PostgresStatement:
    """The statement to run, or a QueryError. Without PostgreSQL's parser at hand this reads
    the text conservatively: no `;` but a trailing one (so never a second statement), no
    `U&` escapes (so every name is spelled plainly), none of the denied names anywhere (also
    inside quotes or text), and a first keyword of a read. The server then accepts only a
    SELECT (the query runs as a cursor) in a read-only transaction."""
    text = sql.strip().rstrip(";").rstrip()
    lowered = text.lower()
    if ";" in text:
        raise QueryError(
            "refused: the SQL holds a ';': kpi query runs exactly one statement",
            "run one SELECT at a time; in a text value write chr(59) for ';'",
        )
    if _UNICODE_ESCAPE.search(lowered):
        raise QueryError(
            "refused: U&'...' escapes are not accepted by kpi query",
            "write names and text plainly",
        )
    for pattern, why in _DENIED:
        found = pattern.search(lowered)
        if found:
            raise QueryError(
                f"refused: {found.group(0)} {why}; kpi query reads only the warehouse's tables",
                "query the marts, e.g. select * from fct_kpi_daily",
            )
    return _postgres_statement(text)


def _postgres_statement(text: str) -> PostgresStatement:
    words = postgres_leading_words(text, 3)
    first = words[0][0] if words else ""
    if first in POSTGRES_QUERY_WORDS or first == "(":
        return PostgresStatement(body=text)
    if first == "explain":
        return _postgres_explain(text, words[1:])
    if first in DUCKDB_ONLY_WORDS:
        raise QueryError(
            f"refused: {first.upper()} is DuckDB's; PostgreSQL has no such statement",
            "for columns: select column_name, data_type from information_schema.columns "
            "where table_name = 'fct_kpi_daily'",
        )
    if not first:
        raise QueryError(
            "refused: the SQL does not start with SELECT, WITH, VALUES, TABLE or EXPLAIN",
            POSTGRES_READ_HINT,
        )
    raise refused_statement(first, POSTGRES_READ_HINT)


def _postgres_explain(text: str, words: list[tuple[str, int]]) -> PostgresStatement:
    """Plain EXPLAIN [VERBOSE] of a read; the server is then asked `EXPLAIN (ANALYZE
    FALSE ...)` of it, which it refuses should an ANALYZE still follow."""
    following = words[0][0] if words else ""
    if following in {"analyze", "analyse"}:
        raise QueryError(
            "refused: EXPLAIN ANALYZE runs the statement it explains; kpi query runs it "
            "only as the query itself",
            "use plain EXPLAIN (or EXPLAIN VERBOSE) of one SELECT",
        )
    if following == "(":
        raise QueryError(
            "refused: EXPLAIN options (...) are not accepted by kpi query",
            "use plain EXPLAIN (or EXPLAIN VERBOSE) of one SELECT",
        )
    verbose = following == "verbose"
    inner = words[1:] if verbose else words
    if not inner or inner[0][0] not in POSTGRES_QUERY_WORDS:
        kind = inner[0][0].upper() if inner else "that statement"
        raise QueryError(f"refused: kpi query explains only a SELECT, not {kind}", EXPLAIN_HINT)
    return PostgresStatement(body=text[inner[0][1] :], explain=True, verbose=verbose)


def postgres_leading_words(text: str, count: int) -> list[tuple[str, int]]:
    """The first `count` words of `text` in lower case with their offsets, skipping
    whitespace and comments (`--`, nested `/* */`); an opening parenthesis is a word `(`.
    Stops at anything else (a quote, an operator)."""
    words: list[tuple[str, int]] = []
    at = 0
    lowered = text.lower()
    while at < len(text) and len(words) < count:
        if text[at].isspace():
            at += 1
        elif text.startswith("--", at):
            newline = text.find("\n", at)
            at = len(text) if newline < 0 else newline + 1
        elif text.startswith("/*", at):
            at = _after_block_comment(text, at)
        elif text[at] == "(":
            words.append(("(", at))
            at += 1
        else:
            word = _WORD.match(lowered, at)
            if not word:
                break
            words.append((word.group(0), at))
            at = word.end()
    return words


def _after_block_comment(text: str, at: int) -> int:
    """The offset after the `/* */` comment starting at `at` (PostgreSQL's nest)."""
    depth = 0
    while at < len(text):
        if text.startswith("/*", at):
            depth, at = depth + 1, at + 2
        elif text.startswith("*/", at):
            depth, at = depth - 1, at + 2
            if depth == 0:
                return at
        else:
            at += 1
    return at


def first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0] if lines else type(err).__name__
