# The two commands: `make run` and `make test`. Each does its own set-up.
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501
# empty: listen on 127.0.0.1; an address (0.0.0.0: every interface) opts in to serving the
# network, and app.py shows no data on a non-loopback address it does not name
DASHBOARD_ADDRESS ?=
PIPELINE_ARGS ?=
BENCH_DASHBOARD_ARGS ?= --users 1000000
BENCH_PIPELINE_ARGS ?= --sizes 1000,20000
# Python caches each module's compiled bytecode beside it (__pycache__) unless this is set,
# as many container images do; then every process compiles dbt, pandas, ibis and the rest
# from source again, nearly a third of a 1,000-user run. make's processes keep the cache:
# the first of them writes it (in .venv and the checkout, both git-ignored), the rest read it.
export PYTHONDONTWRITEBYTECODE :=
# the Dagster UI (make orchestrate): its instance folder and port; it listens on 127.0.0.1
DAGSTER_HOME ?= $(CURDIR)/.dagster
DAGSTER_PORT ?= 3000

.PHONY: run test test-fast test-spark spark-venv pipeline dashboard venv lint contracts bench bench-spark clean \
	orchestration-venv orchestrate test-orchestration

venv:
	@VENV=$(VENV) bash scripts/ensure_venv.sh

run: pipeline dashboard

pipeline: venv
	$(PY) pipeline/run_pipeline.py $(PIPELINE_ARGS)

# python -m streamlit_app passes --server.address itself: 127.0.0.1 or DASHBOARD_ADDRESS
dashboard: venv
	DASHBOARD_ADDRESS='$(DASHBOARD_ADDRESS)' $(PY) -m streamlit_app --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

# the loop while coding: unit-level tests and those reading the shared tiny run and dbt
# build; not the tests that start runs of their own (marked pipeline_run), browser or slow
test-fast: venv
	$(PY) -m pytest -m "not pipeline_run and not browser and not slow" $(PYTEST_ARGS)

# the Spark engine: Java 17 + requirements-spark.txt, then only the tests marked `spark`
spark-venv: venv
	@VENV=$(VENV) bash scripts/ensure_spark.sh

test-spark: spark-venv
	CARTON_CAPS_SPARK_TESTS=1 $(PY) -m pytest -m spark tests/spark $(PYTEST_ARGS)

# the Dagster orchestration: requirements-orchestration.txt, then tests/orchestration and
# the alerts' tests (a local webhook on 127.0.0.1: payloads, retries, a silent or absent server)
orchestration-venv: venv
	@VENV=$(VENV) bash scripts/ensure_orchestration.sh

test-orchestration: orchestration-venv
	CARTON_CAPS_ORCHESTRATION_TESTS=1 $(PY) -m pytest tests/orchestration tests/alerts $(PYTEST_ARGS)

# Dagster's UI and daemon (schedule, backfills) on 127.0.0.1 only; runs use the same
# CARTON_CAPS_* variables as `make pipeline`
orchestrate: orchestration-venv
	mkdir -p '$(DAGSTER_HOME)'
	test -f '$(DAGSTER_HOME)/dagster.yaml' || cp orchestration/dagster.yaml '$(DAGSTER_HOME)/'
	DAGSTER_HOME='$(DAGSTER_HOME)' $(VENV)/bin/dagster dev -m orchestration.definitions \
		--host 127.0.0.1 --port $(DAGSTER_PORT)

lint: venv
	$(PY) -m ruff check .

# regenerate every generated file (codegen/): the raw and marts contracts, the dbt sources
# YAML, the finance marts' ageing columns, exposures.yml, the dashboards' metric captions and
# the metric definitions of docs/design.md (tests/test_generated_files.py fails when one is
# stale; `$(PY) -m codegen --check` names them)
contracts: venv
	$(PY) -m codegen

bench: venv
	$(PY) bench/bench_generator.py
	$(PY) bench/bench_loader.py
	$(PY) bench/bench_dashboard.py $(BENCH_DASHBOARD_ARGS)
	$(PY) bench/bench_pipeline.py $(BENCH_PIPELINE_ARGS)

bench-spark: spark-venv
	$(PY) bench/bench_engines.py $(BENCH_ENGINES_ARGS)

clean:
	rm -rf data/* logs/* duckdb/*.duckdb duckdb/*.building duckdb/*.wal duckdb/*.tmp \
		duckdb/LATEST_DB.txt duckdb/.publish.lock dbt_carton_caps/target
	touch data/.gitkeep logs/.gitkeep
