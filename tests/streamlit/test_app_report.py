"""Home and Pipeline Ops offer the run's one-file HTML report as a download, byte for byte
the file the run wrote; a run without one says how to write it."""

from __future__ import annotations

from pathlib import Path

from streamlit_app import data_access
from tests.streamlit.conftest import copy_home, open_page, texts

LABEL = "Download the run report (one HTML file, opens offline)"


def test_home_and_pipeline_ops_offer_the_runs_report(tiny_run, use_home, tmp_path: Path
                                                      ) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    report = home / "logs" / "report_tiny.html"
    assert data_access.run_report("tiny") == report.read_bytes()
    for page in ("views/home.py", "views/pipeline_ops.py"):
        at = open_page(page)
        assert not at.exception, [e.value for e in at.exception]
        labels = [button.label for button in at.get("download_button")]
        assert labels.count(LABEL) == 1, page  # Pipeline Ops also exports its tables as CSV


def test_a_run_without_a_report_says_how_to_write_it(tiny_run, use_home, tmp_path: Path
                                                     ) -> None:
    home = use_home(copy_home(tiny_run.home, tmp_path / "home"))
    (home / "logs" / "report_tiny.html").unlink()
    assert data_access.run_report("tiny") is None
    at = open_page()
    assert not at.exception, [e.value for e in at.exception]
    assert LABEL not in [button.label for button in at.get("download_button")]
    assert any("pipeline/runs.py report tiny" in text for text in texts(at.caption))
