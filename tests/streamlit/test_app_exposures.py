"""Pages and dbt exposures stay in step: each page reads exactly the marts it declares.

``exposures.yml`` is generated (``make contracts``) from ``streamlit_app/pages.yml`` and the
SQL each page's queries are declared with; codegen reads the app as text, and these tests
hold that reading to the app's own registry (``data_access.READS``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from codegen import dbt_project, dbt_yaml
from codegen import exposures as exposures_codegen
from foundation import metric_definitions
from foundation.paths import REPO_ROOT
from streamlit_app import data_access, mart_queries, ui

EXPOSURES = REPO_ROOT / "dbt_carton_caps" / "models" / "exposures.yml"
PAGES_DIR = REPO_ROOT / "streamlit_app" / "views"
TABLE_IN_SQL = re.compile(r"\b(marts|ops|raw|staging|intermediate)\.([a-z_][a-z0-9_]*)")
REF = re.compile(r"""ref\(\s*['"]([a-z0-9_]+)['"]\s*\)""")


def exposure_refs() -> dict[str, set[str]]:
    document = yaml.safe_load(EXPOSURES.read_text(encoding="utf-8"))
    return {exposure["name"]: {match for item in exposure.get("depends_on") or []
                               for match in REF.findall(item)}
            for exposure in document["exposures"]}


def tables_read_by_page(page: Path) -> set[str]:
    """Tables reached through data_access functions and date filters the page calls."""
    tables: set[str] = set()
    for node in ast.walk(ast.parse(page.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "data_access" and node.attr in data_access.READS):
            tables |= data_access.READS[node.attr]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "date_range"):
            for argument in node.args:
                if isinstance(argument, ast.Constant) and argument.value in \
                        data_access.DATE_BOUNDS:
                    tables |= data_access.tables_in(data_access.DATE_BOUNDS[argument.value])
    return tables


def marts_of(tables: set[str]) -> set[str]:
    return {table.split(".", 1)[1] for table in tables if table.startswith("marts.")}


def test_every_page_has_an_exposure_named_after_its_url() -> None:
    exposures = yaml.safe_load(EXPOSURES.read_text(encoding="utf-8"))["exposures"]
    by_name = {exposure["name"]: exposure for exposure in exposures}
    for _section, file_name, _title, url_path in ui.PAGE_SPECS:
        assert (PAGES_DIR / file_name).is_file(), file_name
        assert url_path in by_name, f"no exposure for page {file_name} ({url_path})"
        assert by_name[url_path]["url"] == f"http://localhost:8501/{ui.page_url_path(url_path)}"
    assert set(by_name) == {spec[3] for spec in ui.PAGE_SPECS}


def test_each_page_reads_exactly_the_marts_its_exposure_declares() -> None:
    refs = exposure_refs()
    for _section, file_name, _title, url_path in ui.PAGE_SPECS:
        read = marts_of(tables_read_by_page(PAGES_DIR / file_name))
        declared = refs[url_path]
        assert read - declared == set(), f"{file_name} reads undeclared marts"
        assert declared - read == set(), f"exposure {url_path} declares marts it never reads"


def test_codegen_reads_the_queries_as_the_app_registers_them() -> None:
    """exposures.yml is written from a reading of the app's source; it must agree with the
    registry the running app builds from the same declarations."""
    assert exposures_codegen.query_tables() == data_access.READS
    assert exposures_codegen.date_filter_tables() == {
        key: data_access.tables_in(sql) for key, sql in data_access.DATE_BOUNDS.items()}


def test_a_query_declares_its_tables_once_in_its_sql() -> None:
    """Every table a data-layer function names is registered for it, and every function
    that reads a snapshot is registered (``@sql_query`` or ``@reads``)."""
    for module in ("mart_queries.py", "ops_queries.py", "run_history.py"):
        source = (APP_DIR / module).read_text(encoding="utf-8")
        tree = ast.parse(source)
        constants = {node.targets[0].id: ast.get_source_segment(source, node) or ""
                     for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.targets[0], ast.Name)}
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name == "date_bounds":
                continue  # date_bounds reads DATE_BOUNDS, mapped per page via ui.date_range
            text = "".join(ast.get_source_segment(source, part) or ""
                           for part in [*node.decorator_list, node])
            text += "".join(value for name, value in constants.items()
                            if re.search(rf"\b{name}\b", text))
            found = {f"{schema}.{name}" for schema, name in TABLE_IN_SQL.findall(text)}
            declared = data_access.READS.get(node.name, frozenset())
            assert found <= declared, f"{node.name} reads {sorted(found - declared)} undeclared"
            if "read_table(" in text:
                assert node.name in data_access.READS, f"{module}: {node.name} not registered"


def test_data_access_exports_every_query_without_listing_it() -> None:
    for name in data_access.READS:
        assert name in data_access.__all__, name
        assert callable(getattr(data_access, name)), name
    assert "__all__ = [" not in (APP_DIR / "data_access.py").read_text(encoding="utf-8")


def test_a_query_is_called_with_the_snapshot_then_its_own_arguments(tiny_run) -> None:
    frame = data_access.top_referrers(tiny_run.snapshot, 3)
    assert len(frame) == 3
    assert list(frame["referrer_rank"]) == sorted(frame["referrer_rank"])
    assert data_access.READS["top_referrers"] == {"marts.mart_top_referrers"}
    assert data_access.READS["headline_kpis"] == {f"marts.{name}" for name in (
        "dim_users", "mart_daily_engagement", "mart_school_fundraising",
        "mart_reward_liability_daily", "mart_expiry_outlook", "mart_viral_coefficient",
        "mart_redemption_forecast_totals")}


def test_pages_and_ui_never_build_sql_or_open_databases() -> None:
    for path in [*PAGES_DIR.glob("*.py"), REPO_ROOT / "streamlit_app" / "ui.py",
                 REPO_ROOT / "streamlit_app" / "app.py"]:
        text = path.read_text(encoding="utf-8")
        assert "import duckdb" not in text, path.name
        assert not re.search(r"\bselect\b.+\bfrom\b", text, re.IGNORECASE), path.name
        assert "data_access.query(" not in text, path.name


def test_no_data_access_function_reads_raw_staging_or_intermediate() -> None:
    for name, tables in data_access.READS.items():
        assert all(table.split(".")[0] in {"marts", "ops"} for table in tables), name


APP_DIR = REPO_ROOT / "streamlit_app"
SQL_WORDS = re.compile(r"\b(select|from|where|join|order\s+by|group\s+by|union|insert|update|"
                       r"delete|create|drop|limit)\b", re.IGNORECASE)


def _literal_text(node: ast.AST) -> str:
    """The constant text of a string expression (the literal parts of an f-string)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(part) for part in node.values)
    return ""


def _looks_like_sql(text: str) -> bool:
    return bool(re.search(r"\bselect\b", text, re.IGNORECASE)) or len(SQL_WORDS.findall(text)) >= 2


def _string_built_sql(path: Path) -> list[str]:
    """f-strings, .format(), % and + that splice values into text that looks like SQL."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        built = ""
        if isinstance(node, ast.JoinedStr) and any(
                isinstance(part, ast.FormattedValue) for part in node.values):
            built = _literal_text(node)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr == "format"):
            built = _literal_text(node.func.value)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mod):
            built = _literal_text(node.left) + " " + _literal_text(node.right)
        if built and _looks_like_sql(built):
            found.append(f"{path.name}:{node.lineno}: {built[:60]!r}")
    return found


#: the dashboards' data layer: data_access.py and the modules it re-exports
DATA_LAYER = ("data_access.py", "snapshots.py", "mart_queries.py", "ops_queries.py",
              "run_history.py")


def test_the_app_builds_no_sql_from_strings() -> None:
    """Every query is a fixed SQL string with ? parameters: no f-string, format or +."""
    offenders = [hit for path in sorted(APP_DIR.rglob("*.py")) for hit in _string_built_sql(path)]
    assert offenders == []


def test_the_sql_check_catches_string_built_sql(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('table, column = "t", "c"\n'
                      'a = f"select min({column}) from {table}"\n'
                      'b = "select * from {}".format(table)\n'
                      'c = "select * from " + table\n'
                      'd = f"{table} is not in snapshot x (built before that table existed)."\n')
    assert [hit.split(":")[1] for hit in _string_built_sql(sample)] == ["2", "3", "4"]


@pytest.mark.parametrize("module", DATA_LAYER)
def test_data_access_has_no_f_string_sql(module: str) -> None:
    text = (APP_DIR / module).read_text(encoding="utf-8")
    assert not re.search(r"\bf(\"\"\"|'''|\"|')\s*(select|with)\b", text, re.IGNORECASE)
    assert not re.search(r"\bf(\"|')[^\"'\n]*\b(from|where)\b[^\"'\n]*\{", text, re.IGNORECASE)


def test_every_public_function_of_the_app_is_used_by_the_app() -> None:
    """No helper exists only for the tests (e.g. page_url_path is what app.py serves)."""
    sources = {path: path.read_text(encoding="utf-8") for path in APP_DIR.rglob("*.py")}
    unused = []
    for path, text in sources.items():
        for node in ast.parse(text).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                uses = sum(len(re.findall(rf"\b{node.name}\b", other))
                           for other in sources.values())
                if uses < 2:
                    unused.append(f"{path.name}:{node.name}")
    assert unused == []


def test_app_serves_each_page_at_its_exposure_url_path() -> None:
    text = (APP_DIR / "app.py").read_text(encoding="utf-8")
    assert "url_path=ui.page_url_path(url_path)" in text


def test_every_metric_caption_is_the_definition_the_dbt_yaml_states() -> None:
    """The captions are generated from the dbt YAML (metric_definitions.py): word for word
    the line of the model's description that defines the metric, vars rendered."""
    definitions = dbt_yaml.definitions()
    assert definitions
    for item in definitions:
        assert ui.DEFINITIONS[item.key] == item.text, item.key
    liability = next(item for item in definitions if item.key == "liability")
    assert liability.model == "mart_reward_liability_daily"
    assert ui.DEFINITIONS["liability"].startswith(
        "Reward liability at date d = Σ earned − Σ redeemed − Σ expired − Σ adjusted debits "
        "over ledger entries created on or before d")


def _caption_keys(call: ast.Call) -> list[ast.expr]:
    """The caption key arguments of ui.caption(key), ui.chart(figure, key), ui.table(...,
    definition=key)."""
    name = call.func.attr if isinstance(call.func, ast.Attribute) else ""
    keywords = [k.value for k in call.keywords if k.arg == "definition"]
    position = {"caption": 0, "chart": 1}.get(name)
    return ([call.args[position]] if position is not None and len(call.args) > position
            else []) + keywords


def test_every_caption_a_page_shows_exists() -> None:
    keys = {argument.value
            for path in PAGES_DIR.glob("*.py")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "ui"
            for argument in _caption_keys(node)
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str)}
    assert {"activation", "liability", "ageing", "run_duration"} <= keys
    assert keys <= set(ui.DEFINITIONS), sorted(keys - set(ui.DEFINITIONS))


def test_the_finance_page_labels_the_ageing_buckets_the_marts_have() -> None:
    """The buckets are stated once (var liability_ageing_buckets): the marts' columns and the
    page's labels both come from it."""
    buckets = dbt_project.ageing_buckets()
    labels = dict(metric_definitions.AGEING_BUCKETS)
    assert list(labels) == [bucket.column for bucket in buckets]
    assert list(labels.values()) == [bucket.label for bucket in buckets]
    marts = dbt_yaml.mart_models()
    for name in ("mart_reward_liability_daily", "mart_reward_liability_by_school"):
        columns = [c["name"] for c in marts[name]["columns"] if c["name"].startswith("aged_")]
        assert columns == list(labels), name
    page = (PAGES_DIR / "finance.py").read_text(encoding="utf-8")
    assert "aged_" not in page and "0–30" not in page
    assert "metric_definitions.AGEING_BUCKETS" in page


def test_the_data_layer_is_one_query_per_function() -> None:
    """A mart query names its table once: in its SQL (no table argument, no @reads list)."""
    source = (APP_DIR / "mart_queries.py").read_text(encoding="utf-8")
    assert '@reads("' not in source
    assert "read_table(snapshot, \"" not in source
    assert "daily_engagement" in mart_queries.__all__
