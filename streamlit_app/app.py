"""Carton Caps dashboards: `streamlit run streamlit_app/app.py`."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

_REPO_ROOT = Path(__file__).resolve().parents[1]
if str(_REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(_REPO_ROOT))

PAGES = Path(__file__).parent / "pages"

st.set_page_config(page_title="Carton Caps Analytics", layout="wide")
navigation = st.navigation(
    {
        "Overview": [st.Page(PAGES / "home.py", title="Home", default=True, url_path="home")],
    }
)
navigation.run()
