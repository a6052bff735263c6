# The README's commands. Everything installs into ./.venv from the lock file (uv.lock).
PYTHON ?= python3.11
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
STAMP := $(VENV)/.installed
# the `spark` extra (pyspark, dbt-spark; docs/warehouses.md#spark): the tests need it, the demo not
SPARK_STAMP := $(VENV)/.installed-spark

export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DO_NOT_TRACK := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: install install-spark demo test lint dev docs clean bench screenshots

install: $(STAMP)

install-spark: $(SPARK_STAMP)

$(STAMP): uv.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	test -x $(UV) || $(VENV)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --inexact --compile-bytecode --python $(VENV)/bin/python
	touch $(STAMP)

$(SPARK_STAMP): $(STAMP)
	$(UV) sync --frozen --inexact --compile-bytecode --python $(VENV)/bin/python --extra spark
	touch $(SPARK_STAMP)

demo: install
	$(VENV)/bin/kpi demo

test: install install-spark lint
	$(VENV)/bin/pytest -n 2 --dist loadfile --no-loadscope-reorder

lint: install
	$(VENV)/bin/ruff check kpi_pipeline tests
	$(VENV)/bin/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests --disable-progress-bar

# dagster.yaml (run queue of one, telemetry off) must exist before Dagster starts.
dev: install
	export DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/data/dagster_home}; \
	$(VENV)/bin/python -c "from kpi_pipeline.settings import Settings, prepare_deployment as p; p(Settings.from_env())" && \
	$(VENV)/bin/dagster dev -w workspace.yaml

docs: install
	$(VENV)/bin/python -m kpi_pipeline.orchestration.dbt_docs

# The report at 360, 800 and 1280 px into docs/images/ (docs/snapshots.md); needs Chromium.
screenshots: install
	$(VENV)/bin/python -m kpi_pipeline.publish.report_screenshots docs/images

# Benchmark (docs/benchmarks.md): make bench; make bench SCALE=10 DAYS=1;
# make bench BENCH_ARGS="--history-days 365 --backfill-days 365"
# A GA4 day at 1 M events (issue 16): make bench SCALE=67
#   GA4 as Parquet:            make bench SCALE=67 BENCH_ARGS="--ga4-format parquet"
#   365 days, one run:         make bench SCALE=67 BENCH_ARGS="--ga4-format parquet --backfill-days 365 --replicate --no-empty-day"
#   10 M events a day:         make bench SCALE=670 BENCH_ARGS="--ga4-format parquet --no-empty-day"
# The same day on DuckDB and on a local Spark side by side (issue 18; make install-spark first):
#                              make bench BENCH_ARGS="--warehouse spark"
SCALE ?= 1
DAYS ?= 1
BENCH_ARGS ?=
bench: install
	$(VENV)/bin/kpi bench --scale $(SCALE) --days $(DAYS) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) data dbt_project/target
