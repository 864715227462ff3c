"""Vectorised building blocks that must match numpy's reference results exactly."""

from __future__ import annotations

import numpy as np
import pytest

from generator.vectors import lexsort_order, radix_argsort


@pytest.mark.parametrize("span", [1, 7, 2**16, 2**16 + 1, 2**31, 2**40, 2**62])
def test_radix_argsort_is_the_stable_argsort(span: int) -> None:
    rng = np.random.default_rng(span % 1000)
    # few distinct values as well as many, so ties (kept in input order) are common
    key = np.concatenate([rng.integers(0, span, 5_000), rng.integers(0, min(span, 3), 5_000)])
    assert np.array_equal(radix_argsort(key, span), np.argsort(key, kind="stable"))


@pytest.mark.parametrize("n_keys", [1, 2, 3])
def test_lexsort_order_matches_np_lexsort(n_keys: int) -> None:
    rng = np.random.default_rng(n_keys)
    keys = [rng.integers(-50, 50, 20_000), rng.integers(0, 10**9, 20_000),
            rng.integers(0, 4, 20_000)][:n_keys]
    assert np.array_equal(lexsort_order(*keys), np.lexsort(keys))


def test_lexsort_order_falls_back_when_keys_do_not_pack() -> None:
    rng = np.random.default_rng(3)
    keys = [rng.integers(-2**40, 2**40, 1_000), rng.integers(-2**40, 2**40, 1_000)]
    assert np.array_equal(lexsort_order(*keys), np.lexsort(keys))


def test_lexsort_order_of_nothing_is_empty() -> None:
    assert lexsort_order(np.array([], dtype=np.int64)).tolist() == []
