"""Pages and dbt exposures stay in step: each page reads exactly the marts it declares."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import yaml

from pipeline.paths import REPO_ROOT
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
                        data_access.DATE_COLUMNS:
                    tables.add(data_access.DATE_COLUMNS[argument.value][0])
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
            continue  # reads only DATE_COLUMNS tables; mapped per page via ui.date_range
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
