"""foundation/cli_values.py: the strict parsing the command lines share.

The other helpers are exercised through the CLIs that use them (``run_pipeline.py``,
``data_generator.py``); :func:`positive_int`, :func:`non_negative_int` and
:func:`comma_separated` are argparse's ``type=`` for the benchmarks' counts, seeds and lists
of them, so their messages are checked here once, word for word, and each script only has
to name them.
"""

from __future__ import annotations

import argparse

import pytest

from foundation.cli_values import comma_separated, non_negative_int, positive_int


def test_a_count_of_at_least_one_is_read_as_an_int() -> None:
    assert positive_int("3") == 3


@pytest.mark.parametrize("text", ["0", "-1", "x"])
def test_a_count_that_would_do_nothing_is_refused_with_the_value_quoted(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        positive_int(text)
    assert str(refused.value) == f"must be a whole number of at least 1, got {text!r}"


def test_a_seed_may_be_zero_but_not_negative() -> None:
    assert non_negative_int("0") == 0
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        non_negative_int("-1")
    assert str(refused.value) == "must be a whole number of at least 0, got '-1'"


def test_a_comma_separated_list_reads_every_entry_in_order() -> None:
    assert comma_separated(positive_int)("1000, 20000,1000") == [1000, 20000, 1000]


@pytest.mark.parametrize(("text", "entry"), [("1000,abc", "abc"), ("1000,", ""),
                                             ("0", "0"), ("", ""), ("1,,2", "")])
def test_a_bad_or_empty_entry_refuses_the_whole_list_naming_it(text: str, entry: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as refused:
        comma_separated(positive_int)(text)
    assert str(refused.value) == (f"must be a whole number of at least 1, got {entry!r} "
                                  f"(in {text!r})")


def test_a_bench_script_refuses_a_bad_size_list_as_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    from bench.bench_pipeline import main

    with pytest.raises(SystemExit) as stopped:
        main(["--sizes", "1000,abc"])
    assert stopped.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "bench_pipeline.py: error: argument --sizes: must be a whole number of at least 1, "
        "got 'abc' (in '1000,abc')")
