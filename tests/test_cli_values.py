"""foundation/cli_values.py: the strict parsing the command lines share.

The other helpers are exercised through the CLIs that use them (``run_pipeline.py``,
``data_generator.py``); :func:`positive_int` is argparse's ``type=`` for the benchmarks'
counts, so its message is checked here once, word for word, and each script only has to
name it.
"""

from __future__ import annotations

import argparse

import pytest

from foundation.cli_values import positive_int


def test_a_count_of_at_least_one_is_read_as_an_int() -> None:
    assert positive_int("3") == 3


@pytest.mark.parametrize("text", ["0", "-1", "x"])
def test_a_count_that_would_do_nothing_is_refused_with_the_value_quoted(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        positive_int(text)
    assert str(refused.value) == f"must be a whole number of at least 1, got {text!r}"
