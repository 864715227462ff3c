"""The dbt project builds cleanly and keeps its promises (contracts, keys, docs, exposures)."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import json
import re
import shutil
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import yaml

import duckdb
from codegen.dbt_project import model_files, render_vars
from codegen.dbt_yaml import mart_models
from tests.dbt.conftest import PII_KEY, PROJECT_DIR, REPO_ROOT, DbtBuild, run_dbt

#: the dashboard's pages, as streamlit_app/pages.yml declares them
DASHBOARD_PAGES = {page["name"] for page in yaml.safe_load(
    (REPO_ROOT / "streamlit_app" / "pages.yml").read_text(encoding="utf-8"))["pages"]}
REQUIRED_MARTS = {
    "dim_users", "dim_schools", "dim_products", "dim_dates", "fct_sessions", "fct_receipts",
    "fct_receipt_items", "fct_referrals", "fct_rewards_ledger", "fct_redemptions",
    "mart_daily_engagement", "mart_activation_funnel", "mart_activation_stage_reach",
    "mart_feature_adoption_weekly",
    "mart_time_to_first_use", "mart_retention_cohorts", "mart_referral_funnel_weekly",
    "mart_referral_rejections", "mart_viral_coefficient", "mart_top_referrers",
    "mart_reward_liability_daily", "mart_reward_liability_by_school",
    "mart_redemption_forecast", "mart_redemption_forecast_accuracy",
    "mart_redemption_forecast_backtest", "mart_redemption_forecast_totals",
    "mart_expiry_outlook", "mart_expiry_outlook_by_school",
    "mart_school_fundraising", "mart_state_fundraising", "mart_expiry_breakage",
    "mart_metric_anomalies", "mart_metric_history",
}
PII_PATTERN = re.compile(r"email|phone|first_name|last_name|device|referral_code")


def _mart_nodes(build: DbtBuild) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in build.manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }


def test_dbt_build_finishes_with_zero_errors(dbt_build: DbtBuild) -> None:
    assert dbt_build.result.returncode == 0, dbt_build.result.stdout[-4000:]
    failed = [
        (result["unique_id"], result["status"], result.get("message"))
        for result in dbt_build.run_results["results"]
        if result["status"] in {"error", "fail", "runtime error"}
    ]
    assert failed == []


def test_build_runs_models_data_tests_and_unit_tests(dbt_build: DbtBuild) -> None:
    kinds = {result["unique_id"].split(".")[0] for result in dbt_build.run_results["results"]}
    assert {"model", "test", "unit_test"} <= kinds
    unit_tests = [r for r in dbt_build.run_results["results"]
                  if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) >= 8
    assert {r["status"] for r in unit_tests} == {"pass"}


def test_every_required_mart_is_built_in_schema_marts(dbt_build: DbtBuild) -> None:
    with duckdb.connect(str(dbt_build.db_path), read_only=True) as con:
        tables = {name for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE'").fetchall()}
    assert tables >= REQUIRED_MARTS


def test_models_land_in_exactly_staging_intermediate_monitoring_and_marts(
        dbt_build: DbtBuild) -> None:
    schemas = {node["schema"] for node in dbt_build.manifest["nodes"].values()
               if node["resource_type"] == "model"}
    assert schemas == {"staging", "intermediate", "monitoring", "marts"}


def test_every_mart_has_an_enforced_contract_and_a_primary_key_test(dbt_build: DbtBuild) -> None:
    marts = _mart_nodes(dbt_build)
    assert set(marts) >= REQUIRED_MARTS
    tests = [node for node in dbt_build.manifest["nodes"].values()
             if node["resource_type"] == "test"]
    for name, node in marts.items():
        assert node["config"]["materialized"] == "table", name
        assert node["contract"]["enforced"] is True, name
        attached = [t for t in tests if node["unique_id"] in t["depends_on"]["nodes"]]
        unique_cols = {t.get("column_name") for t in attached
                       if t.get("test_metadata", {}).get("name") == "unique"}
        not_null_cols = {t.get("column_name") for t in attached
                         if t.get("test_metadata", {}).get("name") == "not_null"}
        composite = [
            t for t in attached
            if t.get("test_metadata", {}).get("name") == "unique_combination_of_columns"
            and t.get("attached_node") == node["unique_id"]
        ]
        single_key = (unique_cols & not_null_cols) - {None}
        if composite:
            columns = composite[0]["test_metadata"]["kwargs"]["combination_of_columns"]
            assert set(columns) <= not_null_cols, name
        else:
            assert single_key, f"{name} has no unique + not_null key test"


def test_every_mart_and_mart_column_has_a_description(dbt_build: DbtBuild) -> None:
    for name, node in _mart_nodes(dbt_build).items():
        assert node["description"].strip(), name
        for column in node["columns"].values():
            assert column["description"].strip(), f"{name}.{column['name']}"
            assert column["data_type"], f"{name}.{column['name']}"


def test_every_mart_sql_file_starts_with_a_grain_comment() -> None:
    files = sorted((PROJECT_DIR / "models" / "marts").rglob("*.sql"))
    assert {path.stem for path in files} >= REQUIRED_MARTS
    for path in files:
        assert path.read_text().lstrip().startswith("{# grain: "), path.name


def test_every_foreign_key_in_marts_has_a_relationships_test(dbt_build: DbtBuild) -> None:
    marts = _mart_nodes(dbt_build)
    relationships = {
        (t["attached_node"], t["column_name"])
        for t in dbt_build.manifest["nodes"].values()
        if t["resource_type"] == "test"
        and t.get("test_metadata", {}).get("name") == "relationships"
    }
    unique_keys = {
        (t["attached_node"], t["column_name"])
        for t in dbt_build.manifest["nodes"].values()
        if t["resource_type"] == "test" and t.get("test_metadata", {}).get("name") == "unique"
    }
    for name, node in marts.items():
        for column in node["columns"]:
            is_fk = column.endswith(("user_id", "school_id", "product_id", "receipt_id"))
            if is_fk and (node["unique_id"], column) not in unique_keys:
                assert (node["unique_id"], column) in relationships, f"{name}.{column}"


def test_no_pii_columns_in_marts(dbt_build: DbtBuild) -> None:
    with duckdb.connect(str(dbt_build.db_path), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts'").fetchall()
    offending = [(t, c) for t, c in columns if PII_PATTERN.search(c.lower())]
    assert offending == []


def _hmac(value: str, key: str = PII_KEY) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def _source_users(build: DbtBuild) -> dict[int, tuple[str | None, str | None]]:
    """user_id -> (email, phone) from the generated app database (the plaintext source)."""
    with sqlite3.connect(build.work_dir / "data" / "app.sqlite") as con:
        return {user_id: (email, phone) for user_id, email, phone in con.execute(
            "select user_id, email, phone from users")}


def test_staging_hashes_emails_with_the_keyed_hmac_and_drops_names(dbt_build: DbtBuild) -> None:
    with duckdb.connect(str(dbt_build.db_path), read_only=True) as con:
        columns = {c for (c,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema in ('raw', 'staging') "
            "and table_name in ('users', 'stg_app_db__users')").fetchall()}
        staged = con.execute(
            "select user_id, email_hash, phone_hash from staging.stg_app_db__users").fetchall()
    assert not columns & {"email", "phone", "first_name", "last_name"}
    assert {"email_hash", "phone_hash"} <= columns
    source = _source_users(dbt_build)
    emails = [(source[user_id][0], hashed) for user_id, hashed, _ in staged
              if source[user_id][0]]
    assert len(emails) > 0
    assert all(hashed == _hmac(email.strip().lower()) for email, hashed in emails)
    # not the unsalted SHA-256 an address list could be matched against
    assert all(hashed != hashlib.sha256(email.encode()).hexdigest() for email, hashed in emails)
    assert all(hashed == (_hmac(source[user_id][1]) if source[user_id][1] else None)
               for user_id, _, hashed in staged)


def test_staging_email_hash_changes_with_the_key_and_never_enters_sql_or_logs(
    dbt_build: DbtBuild,
) -> None:
    with duckdb.connect(str(dbt_build.db_path), read_only=True) as con:
        user_id, hashed = con.execute(
            "select user_id, email_hash from staging.stg_app_db__users "
            "where email_hash is not null order by user_id limit 1").fetchone()
        definitions = " ".join(sql or "" for (sql,) in con.execute(
            "select sql from duckdb_views() union all select sql from duckdb_tables()"
        ).fetchall())
    email = _source_users(dbt_build)[user_id][0]
    assert hashed == _hmac(email) != _hmac(email, key="another-home-key")
    assert PII_KEY not in definitions
    for path in dbt_build.work_dir.rglob("*"):
        if path.is_file() and path.suffix in {".json", ".log", ".sql"}:
            assert PII_KEY not in path.read_text(errors="replace"), path


@pytest.mark.pipeline_run
def test_staging_collapses_exact_key_duplicates_and_keeps_the_latest_load(
    dbt_build: DbtBuild, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copyfile(dbt_build.db_path, copy)
    later = _hmac("later@example.com")
    with duckdb.connect(str(copy)) as con:
        before = con.execute("select count(*) from staging.stg_app_db__users").fetchone()[0]
        con.execute(
            "insert into raw.users select * replace ("
            "? as email_hash, _ingested_at + interval 1 hour as _ingested_at) "
            "from raw.users where user_id = (select min(user_id) from raw.users)", [later])
    result = run_dbt(["run", "--select", "stg_app_db__users"], copy, tmp_path)
    assert result.returncode == 0, result.stdout[-2000:]
    with duckdb.connect(str(copy), read_only=True) as con:
        after = con.execute("select count(*) from staging.stg_app_db__users").fetchone()[0]
        kept = con.execute(
            "select email_hash from staging.stg_app_db__users "
            "where user_id = (select min(user_id) from raw.users)").fetchone()[0]
    assert after == before
    assert kept == later


def test_dim_dates_ends_on_the_last_day_before_the_as_of_date(dbt_build: DbtBuild) -> None:
    with duckdb.connect(str(dbt_build.db_path), read_only=True) as con:
        last_day, gaps = con.execute(
            "select max(date_day), max(date_day) - min(date_day) + 1 - count(*) "
            "from marts.dim_dates").fetchone()
    assert str(last_day) == "2025-06-29"
    assert gaps == 0


def test_exposures_cover_every_dashboard_page(dbt_build: DbtBuild) -> None:
    exposures = {e["name"]: e for e in dbt_build.manifest["exposures"].values()}
    assert set(exposures) == DASHBOARD_PAGES
    marts = {node["unique_id"] for node in _mart_nodes(dbt_build).values()}
    for name, exposure in exposures.items():
        # the default (home) page is served at the root URL
        expected = {f"http://localhost:8501/{name}"} | (
            {"http://localhost:8501/"} if name == "home" else set())
        assert exposure["url"] in expected, name
        assert exposure["owner"]["name"]
        for dependency in exposure["depends_on"]["nodes"]:
            assert dependency in marts or dependency.startswith("source."), (name, dependency)
    for page in ("product", "marketing", "finance", "home"):
        assert exposures[page]["depends_on"]["nodes"], page


@pytest.mark.pipeline_run
def test_dbt_parse_passes_with_deprecations_as_errors(tmp_path: Path) -> None:
    result = run_dbt(
        ["parse", "--no-partial-parse", "--warn-error-options", '{"error": ["Deprecations"]}'],
        tmp_path / "unused.duckdb", tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "deprecat" not in result.stdout.lower()


@pytest.mark.pipeline_run
def test_source_freshness_passes_on_a_fresh_load(dbt_build: DbtBuild, tmp_path: Path) -> None:
    result = run_dbt(["source", "freshness"], dbt_build.db_path, tmp_path)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "ERROR STALE" not in result.stdout


@pytest.mark.parametrize("source", ["app_db", "event_exports"])
def test_sources_declare_loaded_at_field_and_freshness(source: str) -> None:
    path = PROJECT_DIR / "models" / "staging" / source / f"_{source}__sources.yml"
    declared = yaml.safe_load(path.read_text())["sources"][0]
    assert declared["name"] == source
    assert declared["schema"] == "raw"
    assert declared["config"]["loaded_at_field"] == "_ingested_at"
    assert set(declared["config"]["freshness"]) == {"warn_after", "error_after"}


@pytest.mark.pipeline_run
def test_dbt_docs_generate_writes_a_catalog_of_every_mart(
    dbt_build: DbtBuild, tmp_path: Path
) -> None:
    work_dir = tmp_path / "docs"
    shutil.copytree(dbt_build.target, work_dir / "target")
    result = run_dbt(["docs", "generate", "--no-compile"], dbt_build.db_path, work_dir)
    assert result.returncode == 0, result.stdout[-4000:]
    catalog = json.loads((work_dir / "target" / "catalog.json").read_text())
    documented = {node["metadata"]["name"] for node in catalog["nodes"].values()
                  if node["metadata"]["schema"] == "marts"}
    assert documented >= REQUIRED_MARTS


def _model_descriptions() -> dict[str, dict]:
    """The marts' YAML, descriptions rendered as dbt renders them ({{ var('...') }})."""
    return {name: {**model, "description": render_vars(model["description"], name)}
            for name, model in mart_models().items()}


def test_metric_interpretations_are_stated_in_the_mart_descriptions() -> None:
    models = _model_descriptions()
    stated = {
        "mart_activation_funnel": ["Ordered: a user counts at a stage when they did it at "
                                   "or after the moment they reached the previous stage",
                                   "not only the first ever",
                                   "The window is inclusive, to the second",
                                   "at most 30 days after the first install",
                                   "conversion_from_installed = users / installed users",
                                   "mart_activation_stage_reach"],
        "mart_activation_stage_reach": ["in any order (not a funnel)"],
        "mart_expiry_outlook": ["FIFO", "365 days (12 months) after it was earned",
                                "equals the ledger balance at the as-of time to the cent"],
        "mart_redemption_forecast_backtest": ["lowest WAPE", "never worse than the best baseline",
                                              "leave one origin out"],
        "mart_retention_cohorts": ["floor((activity day - sign-up day) / 7)",
                                   "days 0-6 after the sign-up day = week 0",
                                   "is_complete"],
        "mart_viral_coefficient": ["over ALL qualified referrals of the cohort's users",
                                   "within 30 days of their own sign-up",
                                   "The window is inclusive, to the second"],
        "mart_reward_liability_daily": ["earn_* entries plus POSITIVE adjust entries",
                                        "NEGATIVE adjust entries are debits",
                                        "= the signed ledger sum to the cent"],
        "mart_reward_liability_by_school": ["FIFO", "add up to liability_dollars to the cent",
                                            "the last 90 covered days (var "
                                            "liability_by_school_daily_days"],
    }
    for name, phrases in stated.items():
        for phrase in phrases:
            assert phrase in models[name]["description"], (name, phrase)
    columns = {c["name"]: c for c in models["mart_retention_cohorts"]["columns"]}
    assert "activity_week" not in columns
    assert columns["is_complete"]["data_type"] == "boolean"


def test_forecast_model_reads_refs_through_an_engine_neutral_pandas_helper() -> None:
    path = PROJECT_DIR / "models" / "intermediate" / "int_redemption_forecast_modelled.py"
    source = path.read_text()
    spec = importlib.util.spec_from_file_location("forecast_model", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    frame = pd.DataFrame({"week_start": ["2025-01-06"], "redeemed_dollars": [1.5]})

    class DuckRelation:
        def df(self) -> pd.DataFrame:
            return frame

    class SparkFrame:
        def toPandas(self) -> pd.DataFrame:  # pyspark's name
            return frame

    for relation in (DuckRelation(), SparkFrame()):
        assert module._to_pandas(relation) is frame
    assert module._to_pandas(DuckRelation(), "duckdb") is frame
    assert module._to_pandas(SparkFrame(), "spark") is frame
    assert module._to_pandas(SparkFrame(), "databricks") is frame
    with pytest.raises(TypeError, match="cannot convert object to pandas"):
        module._to_pandas(object())
    # the model body itself never calls an engine-specific conversion
    body = source[source.index("def model(dbt, session):"):]
    assert ".df()" not in body and ".toPandas()" not in body
    assert 'dbt.config.get("adapter_type")' in body


#: a model name as the dbt README writes it (`stg_app_db__users`, `mart_…`), in backticks
README_MODEL = re.compile(r"`((?:base|stg|int|dim|fct|mart|monitoring)_[a-z0-9_]+)`")


def test_the_dbt_readme_lists_every_model_and_no_other() -> None:
    """dbt_carton_caps/README.md names every model of the project (its .sql / .py file),
    and names no model that no longer exists."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    named = set(README_MODEL.findall(readme))
    models = set(model_files())
    assert len(models) > 40
    assert sorted(models - named) == [], "models missing from dbt_carton_caps/README.md"
    assert sorted(named - models) == [], "dbt_carton_caps/README.md names no such model"
