"""`kpi query` on Spark runs exactly one read: judged by Spark's own parser (EXPLAIN, which
runs nothing) before anything is sent, every node of the plan a reading one. Each refused
statement is shown to have changed nothing on a real Spark server; each allowed one runs."""

from __future__ import annotations

import datetime as dt
import subprocess
import warnings
from pathlib import Path

import pytest

from kpi_pipeline.exit_codes import ExitCode
from kpi_pipeline.orchestration.query_guard import QueryError
from kpi_pipeline.orchestration.query_guard_spark import node_names, parsed_plan
from kpi_pipeline.orchestration.query_limits import QueryLimits
from kpi_pipeline.orchestration.readonly_spark import check_on_spark, spark_read_only_query_at
from kpi_pipeline.warehouse.spark import SparkPaths, remote_session, running_server
from tests.kpi_process import kpi_env, run_kpi
from tests.ports import free_port
from tests.spark_extra import require_spark_extra

require_spark_extra()

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def spark(tmp_path_factory):
    """The deployment's Spark server (`<data>/spark`), with `t` (three rows over two day
    partitions) and `marts.fct_kpi_daily` (one row), and a file outside the warehouse."""
    root = tmp_path_factory.mktemp("spark_query")
    (root / "outside.json").write_text('{"secret": "not for kpi query"}\n')
    port = free_port()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        with running_server(SparkPaths(root / "spark"), port):
            session = remote_session(port)
            session.sql("create schema marts")
            session.sql("use marts")
            session.sql("create table t (a int, d date) using parquet partitioned by (d)")
            session.sql(
                "insert into t values (1, date'2025-01-01'), (2, date'2025-01-01'), "
                "(3, date'2025-01-02')"
            )
            session.sql("create table fct_kpi_daily using parquet as select 'nps' as kpi_id")
            with pytest.MonkeyPatch.context() as env:
                env.setenv("KPI_SPARK_PORT", str(port))
                yield session, root, port
            session.stop()


def query(root: Path, sql: str, limits: QueryLimits | None = None):
    """`kpi query`'s read on the deployment's Spark: a session of its own per query."""
    return spark_read_only_query_at(f"spark:{root / 'spark'}", sql, limits or QueryLimits())


def rows_of_t(session) -> list[tuple]:
    return sorted(tuple(r) for r in session.sql("select a, d from marts.t").collect())


READS = {
    "select a from t where d = date'2025-01-01' order by a": [(1,), (2,)],
    "with x as (select a from t) select sum(a) from x": [(6,)],
    "values (1, 'a')": [(1, "a")],
    "table t": None,
    "select a, rank() over (partition by d order by a desc) as r from t order by a": [
        (1, 2),
        (2, 1),
        (3, 1),
    ],
    "select v from t lateral view explode(array(a)) e as v where a = 3": [(3,)],
    "select d, sum(a) from t group by rollup(d) having sum(a) > 3 order by d": [(None, 6)],
    "select a from t qualify row_number() over (order by a) = 1": [(1,)],
    "select a from t where exists (select 1 from t u where u.a = t.a + 1) order by a": [
        (1,),
        (2,),
    ],
    "select a from t order by a limit 1 offset 2": [(3,)],
    "select /*+ broadcast(t) */ count(*) from t": [(3,)],
    "select * from (values (1, 2)) as v(x, y)": [(1, 2)],
    "describe t": None,
    "show tables": None,
    "explain select * from t": None,
    "explain insert into t values (9, date'2025-01-09')": None,  # EXPLAIN runs nothing
    "select 'a\nb' as text_with_a_line_break": [("a\nb",)],
}


T_ROWS = [(1, dt.date(2025, 1, 1)), (2, dt.date(2025, 1, 1)), (3, dt.date(2025, 1, 2))]


@pytest.mark.parametrize("sql", READS)
def test_a_read_runs(spark, sql: str) -> None:
    session, root, _ = spark
    frame = query(root, sql)
    expected = READS[sql]
    if expected is None:
        assert frame.height > 0
    else:
        assert frame.rows() == expected
    assert rows_of_t(session) == T_ROWS


# each statement that is not a read, and the words its refusal starts with
REFUSED = {
    "insert into t values (9, date'2025-01-09')": "refused: INSERT is not a read (it changes",
    "with x as (select 9 as a) insert into t select a, date'2025-01-09' from x": (
        "refused: INSERT is not a read"
    ),
    "from t insert into t select *": "refused: INSERT is not a read",
    "insert overwrite table t partition (d) select 9, date'2025-01-01'": (
        "refused: INSERT is not a read"
    ),
    "create table u as select 1 as a": "refused: CREATE is not a read",
    "create temporary view v as select 1 as a": "refused: CREATE is not a read",
    "create function f as 'x.Y'": "refused: CREATE is not a read",
    "drop table t": "refused: DROP is not a read",
    "truncate table t": "refused: TRUNCATE is not a read",
    "set spark.sql.runSQLOnFiles=true": "refused: SET is not a read",
    "use default": "refused: USE is not a read",
    "cache table t": "refused: CACHE is not a read (it keeps a table in the server's memory)",
    "refresh table t": "refused: REFRESH is not a read",
    "msck repair table t": "refused: MSCK REPAIR is not a read",
    "add jar /nonexistent/x.jar": "refused: ADD JAR is not a read (it loads code",
    "load data local inpath '/etc/hostname' into table t": "refused: LOAD DATA is not a read",
    "insert overwrite directory '{root}/out' select 1": (
        "refused: INSERT OVERWRITE DIRECTORY is not a read (it writes files)"
    ),
    # Spark runs an EXECUTE IMMEDIATE's statement while explaining it: refused unsent
    "execute immediate 'drop table t'": "refused: EXECUTE IMMEDIATE is not a read",
    "EXECUTE/* a comment */Immediate 'drop table t'": "refused: EXECUTE IMMEDIATE is not a",
    "explain execute immediate 'drop table t'": "refused: EXECUTE IMMEDIATE is not a read",
    "declare v int": "refused: DECLARE is not a read (it creates a session variable)",
    "select java_method('java.lang.System', 'getProperty', 'user.dir')": (
        "refused: java_method() calls Java code inside the Spark server"
    ),
    "select reflect('java.lang.System', 'getProperty', 'user.dir')": (
        "refused: reflect() calls Java code"
    ),
    "select identifier('reflect')('java.lang.System', 'getProperty', 'user.dir')": (
        "refused: reflect() calls Java code"
    ),
    "select * from json.`{root}/outside.json`": "refused: json.`",
    "select 1; drop table t": "the SQL does not parse",
    "  ; ": "no statement given",
}


@pytest.mark.parametrize("sql", REFUSED)
def test_anything_else_is_refused_in_words_and_changes_nothing(spark, sql: str) -> None:
    session, root, _ = spark
    with pytest.raises(QueryError) as refused:
        query(root, sql.format(root=root))
    assert str(refused.value).startswith(REFUSED[sql]), str(refused.value)
    assert refused.value.hint
    assert rows_of_t(session) == T_ROWS
    assert sorted(r.tableName for r in session.sql("show tables in marts").collect()) == [
        "fct_kpi_daily",
        "t",
    ]
    assert session.sql("show tables in default").collect() == []
    assert not (root / "out").exists()


def test_a_text_value_can_add_a_node_to_the_plan_but_never_hide_one(spark) -> None:
    """A text value's line break shows in the plan's text. A second line that does not look
    like a tree line is not read as a node (`select 'a<newline>b'` runs, in READS); one forged
    to look like a refused node is read as one, so forging can only refuse a read."""
    session, _, _ = spark
    forged = "select 'x\n+- InsertIntoStatement' as a"
    [(explained,)] = session.sql(f"explain extended {forged}").collect()
    assert "InsertIntoStatement" in node_names(parsed_plan(explained))
    with pytest.raises(QueryError, match="refused: INSERT is not a read"):
        check_on_spark(session, forged)
    check_on_spark(session, "select a from t where a = 1")


def test_a_query_past_its_time_limit_is_stopped(spark) -> None:
    _, root, _ = spark
    # a hash of each of 10^11 rows: minutes of work that the JIT cannot fold away (a plain
    # count(*) of the range once finished within the 2 s on a quiet machine)
    slow = "select sum(hash(id)) from range(0, 100000000000)"
    with pytest.raises(QueryError) as stopped:
        query(root, slow, QueryLimits(timeout_seconds=2))
    assert str(stopped.value) == "the query ran longer than 2 s and was stopped"
    assert query(root, "select 1 as one").rows() == [(1,)]


def test_a_result_over_the_memory_limit_is_refused(spark) -> None:
    _, root, _ = spark
    with pytest.raises(QueryError) as refused:
        query(root, "select id from range(0, 200000)", QueryLimits(memory_limit="100KB"))
    assert str(refused.value).startswith("the result is larger than the memory limit (100KB)")


def kpi_query(root: Path, port: int, *args: str) -> subprocess.CompletedProcess:
    """The installed CLI's `kpi query` on the deployment whose Spark server the module runs."""
    env = kpi_env(KPI_DATA_DIR=str(root), KPI_WAREHOUSE="spark", KPI_SPARK_PORT=str(port))
    return run_kpi("query", *args, env=env)


def test_kpi_query_reads_the_marts_on_spark(spark) -> None:
    """Unqualified names resolve in the marts, as on DuckDB, on the deployment's server."""
    _, root, port = spark
    done = kpi_query(root, port, "select kpi_id from fct_kpi_daily", "--format", "csv")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["kpi_id", "nps"]


def test_kpi_query_refuses_a_write_on_spark_in_one_line(spark) -> None:
    session, root, port = spark
    done = kpi_query(root, port, "insert into t values (9, date'2025-01-09')")
    assert done.returncode == ExitCode.ERROR
    assert "Traceback" not in done.stderr
    said = " ".join(done.stderr.split())
    assert said.startswith("error: refused: INSERT is not a read (it changes data)")
    assert said.count("error:") == 1 and said.count("hint:") == 1
    assert rows_of_t(session) == T_ROWS
