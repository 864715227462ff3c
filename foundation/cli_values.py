"""Strict parsing of the numbers and dates the command lines take.

Python's ``int()`` and ``date.fromisoformat()`` accept more than a user means to type:
``int("1_000")``, ``int("٣٠٠")`` (Arabic-Indic digits) and, since Python 3.11,
``date.fromisoformat("20261101")`` or ``"2026-W44-1"`` all succeed. An argument is
untrusted input, and a value read differently from how it looks is a silent error, so the
command lines accept only ASCII digits (with an optional leading minus, so a negative value
gets its own message) and dates written ``YYYY-MM-DD``.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from datetime import date
from typing import TypeVar

_T = TypeVar("_T")

_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,30}")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: characters of a bad value quoted back in a message
QUOTED_CHARS = 40


class CliValueError(ValueError):
    """A command-line value that is not of the form its option takes; the message says so."""


def quoted(text: str) -> str:
    """``text`` as a message quotes it: repr'd and cut, so a long or odd value stays one line."""
    return repr(text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + "…")


def whole_number(flag: str, text: str) -> int:
    """``text`` as an integer written with ASCII digits only."""
    if not _WHOLE_NUMBER.fullmatch(text):
        raise CliValueError(f"{flag} must be a whole number written with the digits 0-9, "
                            f"got {quoted(text)}")
    return int(text)


def _at_least(text: str, minimum: int) -> int:
    if not _WHOLE_NUMBER.fullmatch(text) or int(text) < minimum:
        raise argparse.ArgumentTypeError(
            f"must be a whole number of at least {minimum}, got {quoted(text)}")
    return int(text)


def positive_int(text: str) -> int:
    """An argparse ``type=`` for a count (rounds, rows, users): a whole number of at least 1
    (digits 0-9 only), so a count that would do nothing is a usage error rather than a run
    with nothing in it. argparse puts the flag's name in front of the message, hence no
    ``flag``; it keeps the words only of an :class:`argparse.ArgumentTypeError` (any other
    error reads "invalid positive_int value"), hence that class, not :class:`CliValueError`."""
    return _at_least(text, 1)


def non_negative_int(text: str) -> int:
    """An argparse ``type=`` for a seed: a whole number of at least 0 (digits 0-9 only)."""
    return _at_least(text, 0)


def comma_separated(item: Callable[[str], _T]) -> Callable[[str], list[_T]]:
    """An argparse ``type=`` for a comma-separated list (``--sizes 1000,20000``) whose every
    entry ``item`` reads: an empty or bad entry is refused with its message and the whole
    value quoted, never skipped."""
    def parse(text: str) -> list[_T]:
        values = []
        for part in text.split(","):
            try:
                values.append(item(part.strip()))
            except argparse.ArgumentTypeError as exc:
                raise argparse.ArgumentTypeError(f"{exc} (in {quoted(text)})") from None
        return values

    # argparse names the type in the errors it words itself
    parse.__name__ = f"comma-separated {getattr(item, '__name__', 'values')}"
    return parse


def iso_date(flag: str, text: str) -> date:
    """``text`` as a calendar date written ``YYYY-MM-DD``."""
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise CliValueError(f"{flag} must be a date like 2026-11-01 (YYYY-MM-DD), got {quoted(text)}")


def choice(flag: str, text: str, choices: tuple[str, ...]) -> str:
    """``text`` if it is one of ``choices`` (exactly: no case folding, no spaces)."""
    if text not in choices:
        raise CliValueError(f"{flag} must be one of {', '.join(choices)}, got {quoted(text)}")
    return text
