"""The pages and links between them: declared once in ``pages.yml``, each link keeping the
picked run (and, for a link to a finding, the finding) in the URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st
import yaml

#: the pages, declared once in pages.yml (which also feeds the dbt exposures)
PAGES: dict[str, Any] = yaml.safe_load(
    (Path(__file__).with_name("pages.yml")).read_text(encoding="utf-8"))
#: (section, file, title, url path = exposure name in dbt_carton_caps/models/exposures.yml)
PAGE_SPECS: tuple[tuple[str, str, str, str], ...] = tuple(
    (page["section"], page["file"], page["title"], page["name"]) for page in PAGES["pages"])
DEFAULT_PAGE: str = PAGES["default_page"]
#: the URL query parameter naming the picked run (absent = follow the pointer)
RUN_PARAM = "run"


def page_url_path(url_path: str) -> str:
    """Path the page is served at: the default page lives at the root URL."""
    return "" if url_path == DEFAULT_PAGE else url_path


def page_link(url_path: str, label: str, icon: str | None = None,
              params: dict[str, str] | None = None) -> None:
    """A link to another page that keeps the picked run (it travels in the URL), with
    ``params`` of its own (a finding to open there)."""
    file_name = next(spec[1] for spec in PAGE_SPECS if spec[3] == url_path)
    run = st.query_params.get(RUN_PARAM)
    query = {**({RUN_PARAM: run} if run else {}), **(params or {})}
    st.page_link(f"views/{file_name}", label=label, icon=icon, query_params=query or None)
