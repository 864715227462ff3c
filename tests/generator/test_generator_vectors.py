"""Vectorised building blocks that must match numpy's reference results exactly."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from generator.vectors import (
    categorical,
    count_at_or_below,
    dictionary_concat,
    lexsort_order,
    radix_argsort,
)


@pytest.mark.parametrize("span", [0, 1, 7, 2**16, 2**16 + 1, 2**31, 2**40, 2**62])
def test_radix_argsort_is_the_stable_argsort(span: int) -> None:
    rng = np.random.default_rng(span % 1000)
    # few distinct values as well as many, so ties (kept in input order) are common
    key = np.concatenate([rng.integers(0, max(span, 1), 5_000),
                          rng.integers(0, min(max(span, 1), 3), 5_000)])
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


def test_categorical_decodes_to_the_pool_values_with_nulls() -> None:
    pool = pa.array(["a", "b,c", None])
    column = categorical(pool, np.array([1, 0, 2, 1]), valid=np.array([True, False, True, True]))
    assert column.cast(pa.string()).to_pylist() == ["b,c", None, None, "b,c"]


def test_dictionary_concat_keeps_every_part_in_order() -> None:
    pool = pa.array(['{"source":"direct"}', '{"source":"push"}'])
    parts = [categorical(pool, np.array([1, 0])), None, pa.array(['{"id":1}', None, '{"id":3}']),
             categorical(pool, np.array([0]), valid=np.array([False]))]
    indices, values = dictionary_concat(parts, [2, 2, 3, 1])
    decoded = pa.DictionaryArray.from_arrays(pa.array(indices, mask=indices < 0), values)
    assert decoded.cast(pa.string()).to_pylist() == [
        '{"source":"push"}', '{"source":"direct"}', None, None, '{"id":1}', None, '{"id":3}',
        None]
    reordered = indices[[4, 0, 2]]
    assert pa.DictionaryArray.from_arrays(
        pa.array(reordered, mask=reordered < 0), values).cast(pa.string()).to_pylist() == [
        '{"id":1}', '{"source":"push"}', None]


@pytest.mark.parametrize("n_points", [1, 3, 8, 9, 24, 400, 5000])
@pytest.mark.parametrize("n_values", [1_000, 300_000])
def test_count_at_or_below_is_searchsorted_right(n_points: int, n_values: int) -> None:
    rng = np.random.default_rng(n_points)
    weights = rng.pareto(1.1, n_points)
    weights[::7] = 0.0  # zero weights repeat cdf points
    weights[-1] = 1.0
    cdf = np.cumsum(weights) / weights.sum()
    # random values, plus values exactly on cdf points and on bucket edges
    u = np.concatenate([rng.random(n_values), cdf[:-1], np.arange(64) / 64])
    assert np.array_equal(count_at_or_below(cdf, u), np.searchsorted(cdf, u, side="right"))


def test_count_at_or_below_stays_exact_and_fast_when_a_bucket_is_crowded() -> None:
    # 65k cdf points squeezed into a sliver of [0, 1): one weight dominates the rest
    weights = np.full(65_536, 1e-9)
    weights[-1] = 1.0
    cdf = np.cumsum(weights) / weights.sum()
    u = np.random.default_rng(5).random(300_000) * cdf[-2] * 1.0001
    assert np.array_equal(count_at_or_below(cdf, u), np.searchsorted(cdf, u, side="right"))
