"""``dbt_carton_caps/models/exposures.yml``: one dbt exposure per dashboard page.

From the page declarations (``streamlit_app/pages.yml``: name, title, owner, description)
and from what each page reads: the ``data_access`` queries its view calls and the date
filters it draws, each query's tables being the ``marts.*`` / ``ops.*`` names of the SQL it
is declared with (``@sql_query(SQL)`` or ``@reads(SQL, ...)`` in the data layer). The app's
code is read as text here, never imported (codegen builds on ``foundation`` only); a test
checks that this reading agrees with the app's own ``READS``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from codegen.common import GenerationError, load_yaml, render_yaml
from foundation import mart_sql
from foundation.paths import DBT_PROJECT_DIR, REPO_ROOT
from foundation.run_env import DEFAULT_DASHBOARD_PORT

APP_DIR = REPO_ROOT / "streamlit_app"
PAGES_FILE = APP_DIR / "pages.yml"
VIEWS_DIR = APP_DIR / "views"
#: the data layer's modules that declare queries
QUERY_MODULES = ("snapshots.py", "mart_queries.py", "ops_queries.py", "run_history.py")
EXPOSURES_FILE = DBT_PROJECT_DIR / "models" / "exposures.yml"
URL = f"http://localhost:{DEFAULT_DASHBOARD_PORT}/"
#: the table names a dashboard query may read (as ``streamlit_app.snapshots.TABLE_IN_SQL``)
TABLE_IN_SQL = re.compile(r"\b(?:marts|ops)\.[a-z_][a-z0-9_]*\b")
QUERY_DECORATORS = ("sql_query", "reads")
SOURCES = ("streamlit_app/pages.yml and the queries each page calls "
           "(streamlit_app/views/*.py, the SQL of streamlit_app's @sql_query / @reads)")


def _constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level names bound to a literal (a SQL string, a dict of them)."""
    found: dict[str, Any] = {}
    for node in tree.body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and value is not None:
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                continue
    return found


def _sql_texts(node: ast.expr, constants: dict[str, Any], where: str) -> list[str]:
    """The SQL an argument of ``@sql_query`` / ``@reads`` stands for."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and isinstance(constants.get(node.id), str):
        return [constants[node.id]]
    if (isinstance(node, ast.Starred) and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Attribute) and node.value.func.attr == "values"
            and isinstance(node.value.func.value, ast.Name)
            and isinstance(constants.get(node.value.func.value.id), dict)):
        return list(constants[node.value.func.value.id].values())
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = None
    if isinstance(value, str):
        return [value]
    raise GenerationError(f"{where}: cannot read the SQL of {ast.unparse(node)!r}: declare a "
                          "query with a string literal or a module-level string constant")


def _decorator_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        node = node.func
    return node.id if isinstance(node, ast.Name) else None


def query_tables() -> dict[str, frozenset[str]]:
    """Every data-access function declared by its SQL -> the tables that SQL reads."""
    trees = {name: ast.parse((APP_DIR / name).read_text(encoding="utf-8"))
             for name in QUERY_MODULES}
    # the SQL the data layer shares with the run report is declared in foundation
    constants: dict[str, Any] = {name: value for name, value in vars(mart_sql).items()
                                 if name.isupper() and isinstance(value, str | dict)}
    for tree in trees.values():
        constants.update(_constants(tree))
    tables: dict[str, frozenset[str]] = {}
    for module, tree in trees.items():
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef):
                continue
            for decorator in node.decorator_list:
                if _decorator_name(decorator) not in QUERY_DECORATORS:
                    continue
                assert isinstance(decorator, ast.Call)
                where = f"streamlit_app/{module}: {node.name}"
                sqls = [sql for argument in decorator.args
                        for sql in _sql_texts(argument, constants, where)]
                tables[node.name] = frozenset(t for sql in sqls for t in TABLE_IN_SQL.findall(sql))
    return tables


def date_filter_tables() -> dict[str, frozenset[str]]:
    """Each date filter (``ui.date_range(snapshot, KEY, ...)``) -> the table it bounds."""
    tree = ast.parse((APP_DIR / "mart_queries.py").read_text(encoding="utf-8"))
    bounds = _constants(tree).get("DATE_BOUNDS") or {}
    return {key: frozenset(TABLE_IN_SQL.findall(sql)) for key, sql in bounds.items()}


def tables_read_by_page(view: Path) -> set[str]:
    """The tables a page reads: through the data_access queries and date filters it uses."""
    queries, filters = query_tables(), date_filter_tables()
    tables: set[str] = set()
    for node in ast.walk(ast.parse(view.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and node.value.id == "data_access" and node.attr in queries):
            tables |= queries[node.attr]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "date_range"):
            for argument in node.args:
                if isinstance(argument, ast.Constant) and argument.value in filters:
                    tables |= filters[argument.value]
    return tables


def exposures() -> dict[str, Any]:
    """The exposures document: one per page of pages.yml, in its order."""
    declared = load_yaml(PAGES_FILE)
    owners = declared["owners"]
    result = []
    for page in declared["pages"]:
        view = VIEWS_DIR / page["file"]
        if not view.is_file():
            raise GenerationError(f"streamlit_app/pages.yml: {page['name']}: no view "
                                  f"streamlit_app/views/{page['file']}")
        marts = sorted(table.split(".", 1)[1] for table in tables_read_by_page(view)
                       if table.startswith("marts."))
        depends_on = [f"source('{system}', '{table}')" for system, table in page.get("sources")
                      or ()] + [f"ref('{mart}')" for mart in marts]
        path = "" if page["name"] == declared["default_page"] else page["name"]
        exposure: dict[str, Any] = {
            "name": page["name"],
            "label": page.get("label", page["title"]),
            "type": "dashboard",
            "maturity": page["maturity"],
            "url": f"{URL}{path}",
            "description": page["description"],
            "owner": {"name": page["owner"], "email": owners[page["owner"]]},
        }
        if depends_on:
            exposure["depends_on"] = depends_on
        result.append(exposure)
    return {"version": 2, "exposures": result}


def files() -> dict[Path, Callable[[], str]]:
    return {EXPOSURES_FILE: lambda: render_yaml(SOURCES, exposures())}
