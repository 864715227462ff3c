"""Helpers for the dashboard tests: run the app with AppTest against a chosen home."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from foundation.paths import REPO_ROOT
from streamlit_app import ui
from streamlit_app.literal import WORD_JOINER

APP = REPO_ROOT / "streamlit_app" / "app.py"
PAGE_FILES = tuple(f"views/{spec[1]}" for spec in ui.PAGE_SPECS)
APP_TIMEOUT_S = 60


def open_page(page: str | None = None) -> AppTest:
    """Run the app once (home), then switch to ``page`` and run it."""
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S).run()
    if page is not None and page != "views/home.py":
        at.switch_page(page).run()
    return at


#: a CommonMark backslash escape of an ASCII punctuation character (literal.md writes them)
MARKDOWN_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")


def shown(markdown: str) -> str:
    """The text a reader sees for markdown whose untrusted parts went through literal.md:
    escapes resolved, the invisible word joiners dropped (other markup is left as is)."""
    return MARKDOWN_ESCAPE.sub(r"\1", markdown).replace(WORD_JOINER, "")


def texts(elements: Any) -> list[str]:
    """The text of each element as the reader sees it (see :func:`shown`)."""
    return [shown(str(element.value)) for element in elements]


def write_manifest(home: Path, run_id: str, **fields: Any) -> Path:
    document = {"run_id": run_id, "status": "success",
                "started_at": f"2026-11-01T00:00:{len(run_id):02d}.000+00:00",
                "finished_at": "2026-11-01T00:05:00.000+00:00", "duration_s": 300.0,
                "steps": [], "params": {"users": 300, "seed": 7, "as_of": "2026-11-01"},
                "snapshot": {"path": str(home / "duckdb" / f"carton_caps_{run_id}.duckdb")},
                **fields}
    path = home / "logs" / f"pipeline_{run_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


@pytest.fixture
def use_home(monkeypatch: pytest.MonkeyPatch) -> Callable[[Path], Path]:
    """Point the app at ``home`` (``CARTON_CAPS_HOME``) for this test."""

    def apply(home: Path) -> Path:
        monkeypatch.setenv("CARTON_CAPS_HOME", str(home))
        return home

    return apply


def copy_home(source: Path, target: Path) -> Path:
    """Copy a home's snapshots, pointer and run files (not its data or dbt folders)."""
    (target / "duckdb").mkdir(parents=True)
    (target / "logs").mkdir(parents=True)
    for item in (source / "duckdb").iterdir():
        if item.is_file():
            shutil.copy2(item, target / "duckdb" / item.name)
    for item in (source / "logs").iterdir():
        if item.is_file():
            text = item.read_text(encoding="utf-8", errors="replace")
            (target / "logs" / item.name).write_text(text.replace(str(source), str(target)),
                                                     encoding="utf-8")
    return target
