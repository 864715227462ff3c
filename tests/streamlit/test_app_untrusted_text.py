"""What a URL or a file of the home holds is shown as literal text, cut, never as markup.

The pages' markdown (alerts, captions, labels, metrics) is rendered here with markdown-it's
CommonMark renderer: no ``<a>``, ``<img>`` or other tag may come out of an untrusted part,
and no ``http://``, ``www.`` or ``a@b`` may be left for GFM to link. The browser test of
the same attack is in test_app_browser.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from pathlib import Path

import numpy as np
import pytest
from markdown_it import MarkdownIt
from streamlit.testing.v1 import AppTest

import duckdb
from foundation.paths import HomePaths
from streamlit_app.literal import (
    ELLIPSIS,
    ID_CHARS,
    MESSAGE_CHARS,
    block,
    chart_text,
    chart_values,
    cut,
    md,
)
from streamlit_app.run_history import log_tail
from tests.streamlit.conftest import APP, APP_TIMEOUT_S, shown, texts, write_manifest

#: the issue's link and tracking image
ATTACK = "[x](http://127.0.0.1:9/login) ![x](http://127.0.0.1:9/track.png)"
#: everything else markdown, GFM, HTML or Streamlit would turn into something else
CORPUS = (ATTACK + " <img src=http://127.0.0.1:9/h.png> <http://127.0.0.1:9/angle> "
          "http://127.0.0.1:9/bare www.example.com a@b.co **b** _i_ `c` ~~s~~ :red[red] "
          ":material/home: :smile: $x^2$ &amp; # h\n\n- item\n> quote | a | b |\\")
#: what CommonMark renders from markup (the pages' own bold text excepted)
TAG = re.compile(r"<(?!/?(p|strong)>)[a-z/]")
#: text GFM would turn into a link after escapes are resolved
AUTOLINK = re.compile(r"(?i)(https?|ftp|mailto|xmpp):(//)?|www\.|[\w.+-]@[\w-]")
COMMONMARK = MarkdownIt("commonmark")


def assert_literal(markdown: str) -> None:
    """``markdown`` renders to paragraphs of text only, with nothing left to autolink."""
    html = COMMONMARK.render(markdown)
    assert not TAG.search(html), html
    assert not AUTOLINK.search(markdown), markdown


def markdown_of(at: AppTest) -> list[str]:
    """Every markdown string the script rendered: bodies, labels, metric values, tooltips."""
    found: list[str] = []
    for kind in ("markdown", "caption", "error", "warning", "info", "success", "title",
                 "header", "subheader"):
        found += [str(element.value) for element in at.get(kind)]
    found += [element.proto.label for element in at.get("page_link")]
    found += [element.label for element in at.expander]
    for metric in at.metric:
        found += [metric.label, str(metric.value), metric.proto.help]
    return found


# --------------------------------------------------------------------------- the helper


def test_md_renders_every_kind_of_markup_as_the_literal_text() -> None:
    body = md(CORPUS, 10_000)
    assert_literal(body)
    assert shown(body) == " ".join(CORPUS.split())  # one line, same characters


def test_cut_bounds_a_value_and_marks_what_it_left_out() -> None:
    assert cut("x" * 10_000) == "x" * (ID_CHARS - 1) + ELLIPSIS
    assert cut("short") == "short"
    assert cut("a\n\nb\u202ec\x00d\ud800") == "a b c d\ufffd"  # controls, bidi, surrogate
    assert cut(" " * 5000 + "tail", 10) == ELLIPSIS  # a huge value is never scanned whole
    assert len(md("[" * 10_000)) == 2 * (ID_CHARS - 1) + 1


def test_block_keeps_lines_for_st_text() -> None:
    assert block("select 1\n    from t\x07\n") == "select 1\n    from t"
    assert block("x" * 10_000, 100) == "x" * 99 + ELLIPSIS


def test_chart_text_escapes_plotly_markup_only_in_strings() -> None:
    assert chart_text('<a href="http://127.0.0.1:9/">x</a> & y') == (
        '&lt;a href="http://127.0.0.1:9/"&gt;x&lt;/a&gt; &amp; y')
    assert chart_text(3.5) == 3.5
    values = chart_values(np.array([["<b>", 1], ["ok", None]], dtype=object))
    assert values.tolist() == [["&lt;b&gt;", 1], ["ok", None]]
    assert chart_values(np.array([1.0, 2.0])).dtype.kind == "f"


# --------------------------------------------------------------------------- the URL


def _home(home: Path) -> Path:
    """A home with one successful run, ``old``, served by the pointer."""
    (home / "duckdb").mkdir(parents=True)
    duckdb.connect(str(home / "duckdb" / "carton_caps_old.duckdb")).close()
    write_manifest(home, "old")
    (home / "duckdb" / "LATEST_DB.txt").write_text("carton_caps_old.duckdb\n")
    return home


def _linked(run: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S)
    at.query_params["run"] = run
    return at.run()


def test_a_markdown_run_in_the_link_is_echoed_as_literal_text(tmp_path: Path,
                                                              use_home) -> None:
    use_home(_home(tmp_path))
    at = _linked(ATTACK)
    assert not at.exception
    assert texts(at.sidebar.warning) == [
        f"The link names run {ATTACK}, which is not a run id (1-64 letters, digits, _ or -); "
        "showing the latest run."]
    body = at.sidebar.warning[0].value
    assert "\\[x\\]\\(http\\:" in body and "![" not in body
    assert_literal(body)
    assert at.code[0].value == "old" and at.query_params["run"] == "old"


def test_a_10000_character_run_in_the_link_is_cut(tmp_path: Path, use_home) -> None:
    use_home(_home(tmp_path))
    at = _linked("[" + "y" * 9_999)
    assert not at.exception
    (warning,) = texts(at.sidebar.warning)
    assert f"[{'y' * (ID_CHARS - 2)}{ELLIPSIS}," in warning
    assert len(at.sidebar.warning[0].value) < 3 * ID_CHARS + 150


def test_an_unknown_run_id_in_the_link_is_named(tmp_path: Path, use_home) -> None:
    use_home(_home(tmp_path))
    at = _linked("gone_run")
    assert not at.exception
    assert texts(at.sidebar.warning) == [
        "Run gone_run from the link has no published snapshot here; showing the latest run."]


# --------------------------------------------------------------------------- files


def _hostile_manifests(home: Path) -> None:
    """The served run's manifest and a newer failed one, with markup in every text field."""
    steps = [{"name": f"<a href='http://127.0.0.1:9/s'>{ATTACK}</a>", "duration_s": 9.0,
              "status": "failed"}]
    # numbers stay numbers: a manifest that breaks the manifest schema is not read field by
    # field at all, it is named as skipped (tests/streamlit/test_app_states.py)
    write_manifest(home, "old", params={"users": 300, "seed": 7, "as_of": ATTACK,
                                        "faults": [ATTACK], "days": 540},
                   warnings=[{"step": ATTACK, "message": ATTACK}],
                   engine={"name": "spark", "spark": ATTACK})
    write_manifest(home, "evil", status="failed", failed_step=ATTACK, error=CORPUS * 50,
                   started_at="2999-01-01T00:00:00+00:00", steps=steps,
                   host=ATTACK, pid=1)


@pytest.mark.parametrize("page", ["views/home.py", "views/pipeline_ops.py"])
def test_manifest_fields_are_shown_as_literal_text(tmp_path: Path, use_home,
                                                   page: str) -> None:
    home = use_home(_home(tmp_path))
    _hostile_manifests(home)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S).run()
    if page != "views/home.py":
        at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    bodies = markdown_of(at)
    assert any("127.0.0.1:9" in shown(body) for body in bodies), "the fields are shown"
    for body in bodies:
        assert_literal(body)
        assert len(shown(body)) < MESSAGE_CHARS + 400  # CORPUS * 50 is cut
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        assert "<a " not in json.dumps(spec["data"]) + json.dumps(spec["layout"])


def test_home_names_the_failed_newest_run_literally(tmp_path: Path, use_home) -> None:
    home = use_home(_home(tmp_path))
    _hostile_manifests(home)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S).run()
    (error,) = texts(at.error)
    assert error.startswith(f"The newest run evil failed at step {ATTACK}: {ATTACK} ")
    assert error.endswith(f"{ELLIPSIS}. Showing the published snapshot of run old.")
    links = [shown(element.proto.label) for element in at.get("page_link")]
    assert f"{ATTACK} →" in links  # the served run's warning, a finding linked literally
    assert any(text.startswith(f"Faults injected on purpose in this run (--faults): {ATTACK}")
               for text in texts(at.caption))


@pytest.mark.parametrize("kind", ["regular", "symlink"])
def test_the_pointers_problem_is_shown_as_literal_text(tmp_path: Path, use_home,
                                                       kind: str) -> None:
    """A pointer holding markup (or a link to a file that does) is named in the sidebar
    cut and escaped, whatever pipeline.records.pointer says of it."""
    home = use_home(_home(tmp_path / "home"))
    pointer = home / "duckdb" / "LATEST_DB.txt"
    pointer.unlink()
    content = (CORPUS + "\n") * 100
    if kind == "regular":
        pointer.write_text(content)
    else:
        outside = tmp_path / "outside.txt"
        outside.write_text(content)
        pointer.symlink_to(outside)
    at = AppTest.from_file(str(APP), default_timeout=APP_TIMEOUT_S).run()
    assert not at.exception
    warnings = [element.value for element in at.sidebar.warning]
    assert len(warnings) == 1 and shown(warnings[0]).startswith("Pointer problem (duckdb/")
    assert_literal(warnings[0])
    assert len(shown(warnings[0])) <= MESSAGE_CHARS


LOG_PAGE_TIMEOUT_S = 20


def _open_writer(fifo: Path) -> None:
    with contextlib.suppress(OSError):  # no reader waiting: nothing to release
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))


@pytest.mark.parametrize("kind", ["symlink", "fifo"])
def test_a_run_log_that_is_a_link_or_a_pipe_is_not_read(tmp_path: Path, use_home,
                                                        kind: str) -> None:
    """Pipeline Ops' log tail: a link to another file is not followed (its content is not
    shown) and a FIFO does not leave the page hanging."""
    home = use_home(_home(tmp_path / "home"))
    log = home / "logs" / "pipeline_old.log"
    if kind == "symlink":
        secret = tmp_path / "secret.txt"
        secret.write_text("root:x:0:0:secret\n")
        log.symlink_to(secret)
    else:
        os.mkfifo(log)
    # a reader stuck on the FIFO is released after the page's timeout: a failure, not a hang
    release = threading.Timer(LOG_PAGE_TIMEOUT_S + 5, _open_writer, args=(log,))
    release.start()
    try:
        at = AppTest.from_file(str(APP), default_timeout=LOG_PAGE_TIMEOUT_S).run()
        at.switch_page("views/pipeline_ops.py").run()
    finally:
        release.cancel()
    assert not at.exception
    assert "This run has no log file (a link or a pipe in its place is not read)." in texts(
        at.info)
    assert not any("secret" in element.value for element in at.code)


def test_the_log_tail_reads_only_the_end_of_a_long_log(tmp_path: Path) -> None:
    home = _home(tmp_path)
    lines = [f"line {number} " + "x" * 100 for number in range(20_000)]  # about 2 MB
    (home / "logs" / "pipeline_old.log").write_text("\n".join(lines) + "\n")
    tail = log_tail("old", 5, HomePaths(home))
    assert tail == "\n".join(lines[-5:])
    every = log_tail("old", 10**6, HomePaths(home)).splitlines()
    assert every[-1] == lines[-1] and len(every) < 3000 and every[0] in lines
