"""Every generated file is what its sources generate today (``make contracts``, i.e.
``python -m codegen``), and a one-fact change in a source makes every copy of it stale.

The raw contract and the dbt sources YAML come from ``foundation/source_tables.py`` and
``contracts/policy/raw.yaml``; the marts contract from the dbt marts YAML and
``contracts/policy/marts.yaml``; the finance marts' ageing columns, the dashboards'
captions (``foundation/metric_definitions.py``) and the metric definitions of
``docs/design.md`` from the dbt YAML and the vars of ``dbt_project.yml``;
``exposures.yml`` from ``streamlit_app/pages.yml`` and the dashboards' queries; the
monitoring layer's ``source_declarations()`` macro from ``foundation/source_tables.py``. Editing a
source without regenerating fails here, naming the stale file.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import yaml

from codegen import __main__ as cli
from codegen import common, contracts, dbt_project, exposures, files
from foundation import source_tables
from foundation.paths import DBT_PROJECT_DIR, REPO_ROOT

GENERATED = sorted(files.generated_files(), key=str)
#: files with generated blocks between hand-written text (the rest are generated whole)
PARTLY_GENERATED = {"dbt_carton_caps/models/marts/finance/_finance__models.yml",
                    "docs/design.md"}
CAPTIONS = "foundation/metric_definitions.py"
DESIGN = "docs/design.md"
FINANCE_YAML = "dbt_carton_caps/models/marts/finance/_finance__models.yml"
MARTS_CONTRACT = "contracts/marts.odcs.yaml"


def relative(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT))


def generated_captions() -> dict[str, str]:
    """CAPTIONS of the metric_definitions.py codegen would write now."""
    namespace: dict[str, object] = {}
    exec(files.generated_files()[REPO_ROOT / CAPTIONS](), namespace)
    return namespace["CAPTIONS"]  # type: ignore[return-value]


def stale() -> list[str]:
    return sorted(relative(path) for path in files.stale_files())


@pytest.mark.parametrize("path", GENERATED, ids=relative)
def test_generated_file_is_up_to_date(path: Path) -> None:
    expected = files.generated_files()[path]()
    assert path.is_file(), f"{relative(path)} is missing: run `make contracts`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{relative(path)} is stale: run `make contracts` to regenerate it")


@pytest.mark.parametrize("path", GENERATED, ids=relative)
def test_generated_file_says_so(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    if relative(path) in PARTLY_GENERATED:
        assert "BEGIN GENERATED" in text and "END GENERATED" in text
        assert "make contracts" in text
    else:
        assert text.splitlines()[0] == common.HEADER.rstrip("\n")


def test_every_generated_file_is_listed_where_the_project_says_so() -> None:
    assert {relative(path) for path in GENERATED} == {
        "contracts/raw.odcs.yaml", MARTS_CONTRACT,
        "dbt_carton_caps/models/staging/app_db/_app_db__sources.yml",
        "dbt_carton_caps/models/staging/event_exports/_event_exports__sources.yml",
        "dbt_carton_caps/macros/source_declarations.sql",
        FINANCE_YAML, CAPTIONS, "dbt_carton_caps/models/exposures.yml", DESIGN}


def test_editing_a_source_column_without_regenerating_names_the_stale_files(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A column added to the declaration makes the raw contract and its dbt source stale."""
    users = source_tables.USERS
    extra = source_tables.Column("favourite_colour", "text", True, "Added in a test.")
    edited = dataclasses.replace(users, columns=(*users.columns, extra))
    tables = tuple(edited if t is users else t for t in source_tables.SOURCE_TABLES)
    monkeypatch.setattr(contracts, "SOURCE_TABLES", tables)
    monkeypatch.setattr(contracts, "TABLES_BY_NAME", {t.name: t for t in tables})
    assert stale() == ["contracts/raw.odcs.yaml",
                       "dbt_carton_caps/macros/source_declarations.sql",
                       "dbt_carton_caps/models/staging/app_db/_app_db__sources.yml"]


def test_the_check_command_exits_1_and_names_the_stale_file(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(common, "HEADER", "# generated differently\n")
    assert cli.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert "stale: contracts/raw.odcs.yaml" in out
    assert "stale: contracts/marts.odcs.yaml" in out


def test_the_check_command_exits_0_when_everything_is_fresh(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--check"]) == 0
    assert capsys.readouterr().out == ""


def test_every_mart_needs_an_owner_in_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    models = contracts.mart_models()
    monkeypatch.setattr(contracts, "mart_models",
                        lambda: {**models, "mart_new": {"name": "mart_new", "columns": []}})
    with pytest.raises(common.GenerationError, match=r"missing: \['mart_new'\]"):
        contracts.marts_contract()


# --------------------------------------------------------------------------- one-fact changes


def _edited_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **changes: object) -> None:
    """dbt_project.yml with ``changes`` to its vars, read by codegen instead of the real one."""
    document = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    document["vars"].update(changes)
    copy = tmp_path / "dbt_project.yml"
    copy.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(dbt_project, "PROJECT_FILE", copy)


def _buckets() -> list[dict[str, object]]:
    return yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text(
        encoding="utf-8"))["vars"]["liability_ageing_buckets"]


def test_renaming_an_ageing_bucket_in_dbt_project_makes_every_copy_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The buckets are stated once (var liability_ageing_buckets): the marts' YAML columns,
    their contract, the Finance page's labels and the design notes follow it."""
    buckets = _buckets()
    buckets[0] = {**buckets[0], "name": "fresh_0_30", "label": "fresh (0–30 days)"}
    _edited_project(tmp_path, monkeypatch, liability_ageing_buckets=buckets)
    assert stale() == [MARTS_CONTRACT, FINANCE_YAML, DESIGN, CAPTIONS]
    finance = files.generated_files()[REPO_ROOT / FINANCE_YAML]()
    assert finance.count("- name: aged_fresh_0_30_dollars") == 2
    assert "aged_0_30_dollars" not in finance
    captions = files.generated_files()[REPO_ROOT / CAPTIONS]()
    assert '("aged_fresh_0_30_dollars", "fresh (0–30 days)")' in captions


def test_changing_the_activation_window_makes_captions_docs_and_contract_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The window is stated once (var activation_window_days); the descriptions quote it."""
    _edited_project(tmp_path, monkeypatch, activation_window_days=14)
    assert stale() == [MARTS_CONTRACT, DESIGN, CAPTIONS]
    captions = generated_captions()
    assert "every stage within 14 days of install" in captions["activation"]
    assert "each activation stage within 14 days of install" in captions["stage_reach"]
    assert "within 14 days" in files.generated_files()[REPO_ROOT / DESIGN]()


def test_rewording_a_metric_in_the_dbt_yaml_makes_every_copy_stale(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A definition's wording is stated once (its line of the model's description)."""
    models = tmp_path / "models"
    shutil.copytree(dbt_project.MODELS_DIR, models)
    product = models / "marts" / "product" / "_product__models.yml"
    text = product.read_text(encoding="utf-8")
    assert text.count("Retention: the share of a sign-up-week cohort") == 1
    product.write_text(text.replace("Retention: the share of a sign-up-week cohort",
                                    "Retention: the fraction of a sign-up-week cohort"),
                       encoding="utf-8")
    monkeypatch.setattr(dbt_project, "MODELS_DIR", models)
    monkeypatch.setattr(dbt_project, "MARTS_DIR", models / "marts")
    assert [name for name in stale() if not name.startswith(str(tmp_path))] == [
        MARTS_CONTRACT, DESIGN, CAPTIONS]
    assert generated_captions()["retention"].startswith(
        "Retention: the fraction of a sign-up-week cohort")


def test_a_new_dashboard_query_reaches_the_exposures_from_its_sql_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding a query is one decorated function (and the page that calls it): its table
    reaches the page's exposure without being listed anywhere else."""
    app = tmp_path / "streamlit_app"
    shutil.copytree(exposures.APP_DIR, app, ignore=shutil.ignore_patterns("__pycache__"))
    with (app / "mart_queries.py").open("a", encoding="utf-8") as module:
        module.write('\n\n@sql_query("select * from marts.dim_schools order by school_id")\n'
                     "def schools() -> Params:\n    return ()\n")
    with (app / "views" / "finance.py").open("a", encoding="utf-8") as page:
        page.write("\nui.load(data_access.schools, snapshot)\n")
    monkeypatch.setattr(exposures, "APP_DIR", app)
    monkeypatch.setattr(exposures, "PAGES_FILE", app / "pages.yml")
    monkeypatch.setattr(exposures, "VIEWS_DIR", app / "views")
    assert stale() == ["dbt_carton_caps/models/exposures.yml"]
    finance = next(item for item in exposures.exposures()["exposures"]
                   if item["name"] == "finance")
    assert "ref('dim_schools')" in finance["depends_on"]


def test_an_unknown_var_in_a_description_is_refused() -> None:
    with pytest.raises(common.GenerationError, match="var 'no_such_var' is not in"):
        dbt_project.render_vars("within {{ var('no_such_var') }} days", "a test")
    with pytest.raises(common.GenerationError, match="only"):
        dbt_project.render_vars("{{ ref('x') }}", "a test")


def test_ageing_buckets_must_follow_each_other(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    buckets = _buckets()
    buckets[1] = {**buckets[1], "min_days": 40}
    _edited_project(tmp_path, monkeypatch, liability_ageing_buckets=buckets)
    with pytest.raises(common.GenerationError, match="must follow each other from day 0"):
        dbt_project.ageing_buckets()


def test_generated_yaml_does_not_depend_on_what_else_the_process_imported() -> None:
    """datacontract-cli registers its own string style on PyYAML's SafeDumper when imported
    (the pipeline imports it); the generated files must not change with it."""
    import datacontract  # noqa: F401 (the import is the point)

    assert any("\n" in table["description"] for table in contracts.marts_contract()["schema"])
    assert stale() == []


def test_the_source_declarations_macro_lists_every_table_as_raw_holds_it() -> None:
    text = contracts.source_declarations_macro()
    for table in source_tables.SOURCE_TABLES:
        assert f'"name": "{table.name}"' in text
        assert f'"event_time": "{table.event_time_column}"' in text
    assert '"email_hash"' in text and '"email"' not in text  # PII as landed, never plaintext
    assert '"types": {"event_id": "bigint"' in text
