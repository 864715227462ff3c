"""Untrusted text shown as the literal text it is: never as markdown, HTML or a link.

Almost everything Streamlit renders parses markdown: ``st.markdown``, the alert boxes
(``st.warning``, ``st.error``, ``st.info``, ``st.success``), captions, titles, metric
labels and values, expander and tab labels, page-link labels and tooltips. A value from
the URL (``?run=``) or from a file in the home (a manifest's error, step or host, the
pointer's content in a PointerError, a dbt node name) interpolated into one of them could
draw a link, an image the browser fetches, a heading or coloured text. Plotly, for its
part, reads ``<a href>``, ``<b>`` and entities in titles, tick labels, legend names and
hover text.

So every such value passes through one of these functions at the point where it is
rendered, which also cuts it to a bounded length: a 10,000-character URL parameter is
echoed as its first characters and an ellipsis.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

import numpy as np

#: characters kept of an id (run id, step, node, file name) echoed from the URL or a file
ID_CHARS = 80
#: characters kept of a message (an error, a note) echoed from a file
MESSAGE_CHARS = 400
#: characters kept of a multi-line text from a file (a dbt message) shown in ``st.text``
BLOCK_CHARS = 4000
ELLIPSIS = "…"
#: an invisible character that keeps GFM from turning ``http://``, ``www.`` or ``a@b.c``
#: into a link: its autolinks are found in the text after escapes are resolved, so a
#: backslash alone does not stop them
WORD_JOINER = "\u2060"

#: line breaks, tabs and other controls, format characters (bidirectional overrides,
#: zero-width joiners), line and paragraph separators: shown as one space
_BLANKED = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: every ASCII punctuation character: CommonMark lets each be backslash-escaped, which
#: also disarms Streamlit's own syntax (``:red[...]``, ``:material/...:``, ``$...$``)
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_AUTOLINK = re.compile(r"(?<=[:@])|(?<=www)(?=\.)", re.IGNORECASE)


def _printable(text: str) -> str:
    return "".join(
        " " if unicodedata.category(char) in _BLANKED
        else "\ufffd" if unicodedata.category(char) == "Cs"  # a lone surrogate from JSON
        else char
        for char in text
    )


def _bounded(value: Any, limit: int, clean: Callable[[str], str]) -> str:
    """``clean`` applied to the start of ``str(value)`` (a 10 MB value is never scanned
    whole), cut to ``limit`` characters with an ellipsis when anything was left out."""
    raw = str(value)
    head = raw[:limit * 8]
    text = clean(head)
    if len(text) > limit or len(head) < len(raw):
        text = text[:max(limit - 1, 0)] + ELLIPSIS
    return text


def cut(value: Any, limit: int = ID_CHARS) -> str:
    """``value`` as one line of printable text, at most ``limit`` characters (the last one
    an ellipsis when it was longer)."""
    return _bounded(value, limit, lambda text: " ".join(_printable(text).split()))


def block(value: Any, limit: int = BLOCK_CHARS) -> str:
    """``value`` for ``st.text`` or ``st.code`` (which parse no markdown): its lines kept,
    other control characters shown as spaces, at most ``limit`` characters."""
    return _bounded(value, limit, lambda text: "\n".join(
        _printable(line).rstrip() for line in text.splitlines()))


def md(value: Any, limit: int = ID_CHARS) -> str:
    """Markdown that Streamlit renders as exactly ``cut(value, limit)``: no link, image,
    HTML, emphasis, heading, list, code, LaTeX, emoji or colour directive."""
    text = _AUTOLINK.sub(WORD_JOINER, cut(value, limit))
    return _PUNCTUATION.sub(r"\\\1", text)


def chart_text(value: Any) -> Any:
    """A string as Plotly shows it literally (its ``<a href>``, ``<br>`` and entities
    escaped); anything else unchanged."""
    if not isinstance(value, str):
        return value
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chart_values(values: Any) -> Any:
    """Every string in a Plotly data array (list, tuple, numpy array of any shape)
    escaped by :func:`chart_text`; numbers and dates unchanged."""
    if isinstance(values, np.ndarray):
        if values.dtype.kind not in "OUS":
            return values
        return np.frompyfunc(chart_text, 1, 1)(values)
    if isinstance(values, list | tuple):
        return type(values)(chart_values(value) for value in values)
    return chart_text(values)
