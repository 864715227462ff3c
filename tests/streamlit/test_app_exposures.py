"""Pages and dbt exposures stay in step: each page reads exactly the marts it declares."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
import yaml

from foundation.paths import REPO_ROOT
from streamlit_app import data_access, ui

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
                    tables.add(data_access.DATE_BOUNDS[argument.value][0])
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


def test_data_access_functions_declare_every_table_their_sql_reads() -> None:
    source = inspect.getsource(data_access)
    tree = ast.parse(source)
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        body = ast.get_source_segment(source, node) or ""
        found = {f"{schema}.{name}" for schema, name in TABLE_IN_SQL.findall(body)}
        if node.name == "date_bounds":
            continue  # reads only DATE_BOUNDS tables; mapped per page via ui.date_range
        declared = data_access.READS.get(node.name, frozenset())
        assert found <= declared, f"{node.name} reads {sorted(found - declared)} undeclared"
        if "_read(" in body and node.name != "_read":
            assert node.name in data_access.READS, f"{node.name} reads without @reads"


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


FINANCE_MODELS = (REPO_ROOT / "dbt_carton_caps" / "models" / "marts" / "finance"
                  / "_finance__models.yml")


def _finance_models() -> dict[str, dict]:
    document = yaml.safe_load(FINANCE_MODELS.read_text(encoding="utf-8"))
    return {model["name"]: model for model in document["models"]}


def _terms(formula: str) -> list[str]:
    """'earned - redeemed - expired - adjusted_debit' -> ['+earned', '-redeemed', ...]."""
    tokens = re.findall(r"([+\-−])?\s*(?:Σ\s*|sum\s+)?([a-z_]+(?: debits?)?)", formula)
    return [("-" if sign in ("-", "−") else "+")
            + word.replace(" debits", "_debit").replace(" debit", "_debit")
            for sign, word in tokens]


def test_liability_caption_states_the_marts_definition() -> None:
    description = _finance_models()["mart_reward_liability_daily"]["description"]
    identity = re.search(r"liability = ([a-z_ \-+]+?) = the signed ledger sum", description)
    assert identity, "the mart's liability identity changed: update ui.DEFINITIONS['liability']"
    caption = ui.DEFINITIONS["liability"]
    shown = re.search(r"at date d = (.+?) over ledger entries", caption)
    assert shown
    assert _terms(shown.group(1)) == _terms(identity.group(1)) == [
        "+earned", "-redeemed", "-expired", "-adjusted_debit"]
    assert "over ledger entries created on or before d" in description
    assert "over ledger entries created on or before d" in caption
    assert "earn_* entries plus POSITIVE adjust entries" in description
    assert "earned = earn_* entries + positive adjust entries" in caption
    assert "NEGATIVE adjust entries are debits" in description
    assert "adjusted debits = negative adjust entries" in caption


def test_ageing_caption_names_every_bucket_of_the_marts() -> None:
    models = _finance_models()
    for name in ("mart_reward_liability_daily", "mart_reward_liability_by_school"):
        buckets = [column["name"] for column in models[name]["columns"]
                   if column["name"].startswith("aged_")]
        assert buckets, name
        for column in buckets:
            low_high = column.removeprefix("aged_").removesuffix("_dollars")
            label = "over 365" if low_high == "over_365" else "–".join(low_high.split("_"))
            assert label in ui.DEFINITIONS["ageing"], (name, column)
    assert "FIFO" in ui.DEFINITIONS["ageing"]
    assert "FIFO" in models["mart_reward_liability_daily"]["description"]
