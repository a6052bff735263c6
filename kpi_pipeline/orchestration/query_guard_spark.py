"""Which statements `kpi query` runs on Spark: one read, judged by Spark's own parser.

Spark Connect runs a command (INSERT, CREATE, SET, ...) as soon as `spark.sql` sees it, and
offers no read-only session, so the statement is judged before it is sent, from the parsed
logical plan of `EXPLAIN EXTENDED <statement>`. Explaining runs nothing, with one exception,
measured on Spark 4.3 (docs/warehouses.md#spark): an explained INSERT, DROP, CACHE, SET or
CREATE left everything as it was, but Spark's analyser *runs* the statement inside an
`EXECUTE IMMEDIATE` while explaining it (`execute immediate 'drop table t'` dropped `t`).
So a text holding the words EXECUTE and IMMEDIATE is refused before anything is sent.
Every node of the parsed plan must then be a reading operator: the plan's root alone would
not do, since `WITH x AS (...) INSERT INTO t ...` parses as a `CTE` node over an
`InsertIntoStatement`.

Pure functions over the SQL and the plan's text; the round trip to the server is
`readonly_spark`'s. The nodes allowed are an allow-list: a reading operator this module does
not know is refused in words, never run.
"""

from __future__ import annotations

import re

from kpi_pipeline.orchestration.query_guard import QueryError, refused_statement

SPARK_READ_HINT = (
    "use SELECT, WITH ... SELECT, VALUES, TABLE, DESCRIBE, SHOW or EXPLAIN; data changes "
    "only through the pipeline (kpi run / kpi backfill)"
)
PARSED_HEADER = "== Parsed Logical Plan =="

# the parsed-plan operators of a query (Spark's logical plan node names)
READING_NODES = frozenset(
    [
        "Aggregate",
        "CTE",
        "CTERelationDef",
        "CTERelationRef",
        "Deduplicate",
        "Distinct",
        "Except",
        "Expand",
        "Filter",
        "Generate",
        "GlobalLimit",
        "Intersect",
        "Join",
        "LateralJoin",
        "LocalLimit",
        "LocalRelation",
        "Offset",
        "OneRowRelation",
        "Pivot",
        "Project",
        "Range",
        "Repartition",
        "RepartitionByExpression",
        "Sample",
        "Sort",
        "SubqueryAlias",
        "Tail",
        "Union",
        "Unpivot",
        "UnresolvedHaving",
        "UnresolvedHint",
        "UnresolvedInlineTable",
        "UnresolvedQualify",
        "UnresolvedRelation",
        "UnresolvedSubqueryColumnAliases",
        "UnresolvedTableValuedFunction",
        "UnresolvedWith",
        "Window",
        "WithCTE",
        "WithWindowDefinition",
    ]
)
# statements that read the catalogue, and what they name
CATALOGUE_NODES = frozenset(
    [
        "CurrentNamespace$",
        "DescribeColumn",
        "DescribeNamespace",
        "DescribeQuery",
        "DescribeQueryCommand",
        "DescribeRelation",
        "ShowColumns",
        "ShowCreateTable",
        "ShowFunctions",
        "ShowNamespaces",
        "ShowPartitions",
        "ShowTableExtended",
        "ShowTableProperties",
        "ShowTables",
        "ShowViews",
        "UnresolvedFunctionName",
        "UnresolvedNamespace",
        "UnresolvedPartitionSpec",
        "UnresolvedTable",
        "UnresolvedTableOrView",
        "UnresolvedView",
    ]
)
# the refused nodes an analyst would know by their keyword
NODE_KEYWORDS = {
    "InsertIntoStatement": "INSERT",
    "InsertIntoDir": "INSERT OVERWRITE DIRECTORY",
    "OverwriteByExpression": "INSERT",
    "AppendData": "INSERT",
    "DeleteFromTable": "DELETE",
    "UpdateTable": "UPDATE",
    "MergeIntoTable": "MERGE",
    "CreateTable": "CREATE",
    "CreateTableAsSelect": "CREATE",
    "ReplaceTableAsSelect": "CREATE",
    "CreateViewCommand": "CREATE",
    "CreateView": "CREATE",
    "CreateFunction": "CREATE",
    "CreateNamespace": "CREATE",
    "CreateVariable": "DECLARE",
    "DropTable": "DROP",
    "DropView": "DROP",
    "DropFunction": "DROP",
    "DropNamespace": "DROP",
    "TruncateTable": "TRUNCATE",
    "SetCommand": "SET",
    "ResetCommand": "RESET",
    "SetVariable": "SET",
    "SetCatalogAndNamespace": "USE",
    "CacheTable": "CACHE",
    "CacheTableAsSelect": "CACHE",
    "UncacheTable": "UNCACHE",
    "RefreshTable": "REFRESH",
    "RepairTable": "MSCK REPAIR",
    "AddJarsCommand": "ADD JAR",
    "AddFilesCommand": "ADD FILE",
    "AddArchivesCommand": "ADD ARCHIVE",
    "LoadData": "LOAD DATA",
    "UnresolvedExecuteImmediate": "EXECUTE IMMEDIATE",
    "Call": "CALL",
}
WHAT_SPARK_NODES_DO = {
    "CACHE": "it keeps a table in the server's memory",
    "UNCACHE": "it changes the server's cache",
    "REFRESH": "it changes the server's cache",
    "MSCK REPAIR": "it changes the catalogue",
    "ADD JAR": "it loads code into the server",
    "ADD FILE": "it copies files to the server",
    "ADD ARCHIVE": "it copies files to the server",
    "LOAD DATA": "it reads files into a table",
    "INSERT OVERWRITE DIRECTORY": "it writes files",
    "EXECUTE IMMEDIATE": "it runs SQL given as text",
    "DECLARE": "it creates a session variable",
}
# functions that call into the server's JVM: a "select" that could stop the server. Looked for
# in the whole EXPLAIN text, the analysed plan included: `identifier('reflect')(...)` names
# the function only there, once resolved
_JVM_FUNCTIONS = re.compile(r"\b(reflect|java_method|try_reflect)\b", re.IGNORECASE)
# a function named by IDENTIFIER(<expression>): its name is not known until analysis
_NAMED_BY_EXPRESSION = "expressionwithunresolvedidentifier("
# a table named `format`.`path`: Spark reads the file at that path (runSQLOnFiles)
_FILE_FORMATS = {"parquet", "csv", "json", "orc", "text", "avro", "binaryfile", "delta", "hive"}
_RELATION_PARTS = re.compile(r"UnresolvedRelation \[([^\]]*)\]")
_NODE = re.compile(r"^[\s:+\-|]*'?([A-Za-z_][\w$]*)")
# a child node's line: the tree's drawing, then `+- `; any other line after the root is the
# rest of a text value that held a line break (`select 'a<newline>b'`), not a node
_CHILD_LINE = re.compile(r"^[\s:|]*\+- ")


_EXECUTE = re.compile(r"\bexecute\b", re.IGNORECASE)
_IMMEDIATE = re.compile(r"\bimmediate\b", re.IGNORECASE)


def check_spark_text(sql: str) -> None:
    """Refuse, before Spark sees it, a text that could hold an EXECUTE IMMEDIATE (whose
    statement Spark runs while explaining it): both words anywhere, in any case, comments
    and text values included, so no spelling of it gets through."""
    if not sql.strip().rstrip(";").strip():
        raise QueryError("no statement given", 'give one SELECT, e.g. kpi query "select 1"')
    if _EXECUTE.search(sql) and _IMMEDIATE.search(sql):
        raise _refused("EXECUTE IMMEDIATE")


def explain_statement(sql: str) -> str:
    """What is sent to the server to learn `sql`'s plan without running it."""
    return f"explain extended {sql.strip().rstrip(';')}"


def parsed_plan(explained: str) -> list[str]:
    """The lines of the parsed logical plan in `EXPLAIN EXTENDED`'s text."""
    lines = explained.splitlines()
    if PARSED_HEADER not in lines:
        raise QueryError(
            f"the SQL does not parse: {first_nonblank(explained)}",
            "check the SQL; Spark's dialect: https://spark.apache.org/docs/latest/sql-ref.html",
        )
    start = lines.index(PARSED_HEADER) + 1
    plan = []
    for line in lines[start:]:
        if line.startswith("== "):
            break
        if line.strip():
            plan.append(line)
    return plan


def first_nonblank(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def node_names(plan: list[str]) -> list[str]:
    """Each plan line's operator, the tree's drawing and the unresolved mark (') left out."""
    names = []
    for at, line in enumerate(plan):
        if at > 0 and not _CHILD_LINE.match(line):
            continue
        match = _NODE.match(line)
        if match:
            names.append(match.group(1))
    return names


def check_spark_statement(explained: str) -> None:
    """Refuse (QueryError) a statement, given the text of its `EXPLAIN EXTENDED`, that is
    not one read: a query, a DESCRIBE or SHOW, or an EXPLAIN (which runs nothing on Spark);
    and a read that calls into the server's JVM or reads a file by its path."""
    plan = parsed_plan(explained)
    names = node_names(plan)
    if not names:
        raise QueryError("no statement given", 'give one SELECT, e.g. kpi query "select 1"')
    if names[0] == "ExplainCommand":
        return
    for name in names:
        if name in READING_NODES or name in CATALOGUE_NODES:
            continue
        keyword = NODE_KEYWORDS.get(name)
        if keyword is None:
            raise QueryError(
                f"refused: Spark plans this statement as {name}, which kpi query does not "
                "know as a read; the warehouse is read-only for kpi query",
                SPARK_READ_HINT,
            )
        raise _refused(keyword)
    text = "\n".join(plan)
    called = _JVM_FUNCTIONS.search(explained)
    if called:
        raise QueryError(
            f"refused: {called.group(1).lower()}() calls Java code inside the Spark server; "
            "kpi query runs SQL only",
            SPARK_READ_HINT,
        )
    if _NAMED_BY_EXPRESSION in text.lower():
        raise QueryError(
            "refused: a function named by IDENTIFIER(...) is not known until Spark runs it; "
            "kpi query runs functions named in the SQL",
            "call the function by its name",
        )
    for parts in _RELATION_PARTS.findall(text):
        names_in = [p.strip() for p in parts.split(",")]
        if len(names_in) == 2 and names_in[0].lower() in _FILE_FORMATS:
            raise QueryError(
                f"refused: {names_in[0]}.`{names_in[1]}` reads a file by its path; kpi query "
                "reads the warehouse's tables only",
                'query a table, e.g. kpi query "select * from fct_kpi_daily"',
            )


def _refused(keyword: str) -> QueryError:
    what = WHAT_SPARK_NODES_DO.get(keyword)
    if what is None:
        return refused_statement(keyword.replace(" ", "_"), SPARK_READ_HINT)
    return QueryError(
        f"refused: {keyword} is not a read ({what}); the warehouse is read-only for kpi query",
        SPARK_READ_HINT,
    )
