"""Vectorised building blocks: random delays, timestamps and fixed-width strings.

Timestamps inside the generator are ``int64`` seconds since the Unix epoch (UTC), with
:data:`NA` (``-1``) for "no value". Strings are built as Arrow arrays straight from byte
buffers, never row by row.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from generator.parameters import DAY

NA = -1

_TIME_OF_DAY: np.ndarray | None = None


def lognormal(rng: np.random.Generator, n: int, median: float, sigma: float = 1.0) -> np.ndarray:
    """Positive log-normal delays (int64 seconds, at least 1) with the given median."""
    values = rng.lognormal(np.log(median), sigma, n)
    return np.maximum(values, 1.0).astype(np.int64)


def choice_index(
    rng: np.random.Generator, weights: np.ndarray | tuple[float, ...], n: int
) -> np.ndarray:
    """``n`` indices drawn with probability proportional to ``weights``."""
    w = np.asarray(weights, dtype=np.float64)
    cdf = np.cumsum(w)
    cdf /= cdf[-1]
    return np.minimum(count_at_or_below(cdf, rng.random(n)), len(w) - 1)


#: Buckets of the lookup table :func:`count_at_or_below` starts long searches from, and
#: their lower edges (multiples of a power of two, so bucketing a value is exact).
_CDF_BUCKETS = 1 << 16
_CDF_EDGES = np.arange(_CDF_BUCKETS, dtype=np.float64) / _CDF_BUCKETS
#: Step-up rounds before the values left over fall back to the binary search.
_CDF_STEPS = 3


def count_at_or_below(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``np.searchsorted(cdf, u, side="right")`` for a sorted ``cdf`` in [0, 1] and u in [0, 1).

    A binary search per value costs ~log2(len(cdf)) dependent steps. A short ``cdf`` is
    instead summed as comparisons; for many values over a long one, each starts from a
    table of the count at its bucket's lower edge and steps up while a cdf point lies at or
    below it (usually zero or one step). Values still stepping after a few rounds (a bucket
    crowded with cdf points) finish with the binary search.
    """
    if len(cdf) <= 8:
        count = np.zeros(len(u), dtype=np.intp)
        for point in cdf:
            count += point <= u
        return count
    if len(u) < 4 * _CDF_BUCKETS:
        return np.searchsorted(cdf, u, side="right")
    start = np.searchsorted(cdf, _CDF_EDGES, side="right")
    count = start[(u * _CDF_BUCKETS).astype(np.intp)]
    last = len(cdf)
    rows = np.flatnonzero(count < last)
    for _ in range(_CDF_STEPS):
        rows = rows[cdf[count[rows]] <= u[rows]]
        count[rows] += 1
        rows = rows[count[rows] < last]
    count[rows] = np.searchsorted(cdf, u[rows], side="right")
    return count


def seconds_of_day(rng: np.random.Generator, hour_weights: tuple[float, ...], n: int) -> np.ndarray:
    """Seconds after midnight UTC following the hourly usage profile."""
    hours = choice_index(rng, hour_weights, n)
    return hours * 3600 + rng.integers(0, 3600, n)


def weekday(seconds: np.ndarray) -> np.ndarray:
    """Day of week (0 = Monday) of epoch seconds; 1970-01-01 was a Thursday."""
    return ((seconds // DAY) + 3) % 7


def truncated_power_law_days(
    rng: np.random.Generator, horizon: np.ndarray, alpha: float
) -> np.ndarray:
    """Offsets x in [0, horizon) with density proportional to (x + 1) ** -alpha (float days)."""
    h = np.maximum(horizon.astype(np.float64), 1e-9)
    u = rng.random(len(h))
    if abs(alpha - 1.0) < 1e-9:
        return np.expm1(u * np.log1p(h))
    a = 1.0 - alpha
    return (1.0 + u * ((h + 1.0) ** a - 1.0)) ** (1.0 / a) - 1.0


def power_law_mass(horizon: np.ndarray, alpha: float) -> np.ndarray:
    """Integral of (x + 1) ** -alpha over [0, horizon)."""
    h = np.maximum(np.asarray(horizon, dtype=np.float64), 0.0)
    if abs(alpha - 1.0) < 1e-9:
        return np.log1p(h)
    a = 1.0 - alpha
    return ((h + 1.0) ** a - 1.0) / a


def _validity(valid: np.ndarray | None, n: int) -> tuple[pa.Buffer | None, int]:
    if valid is None:
        return None, 0
    valid = np.asarray(valid, dtype=bool)
    nulls = int(n - np.count_nonzero(valid))
    if nulls == 0:
        return None, 0
    return pa.py_buffer(np.packbits(valid, bitorder="little")), nulls


def fixed_width_strings(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An Arrow string array from an ``(n, width)`` uint8 matrix of ASCII bytes."""
    n, width = matrix.shape
    data = np.ascontiguousarray(matrix, dtype=np.uint8)
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)[: n + 1]
    bitmap, nulls = _validity(valid, n)
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap, nulls
    )


def _time_of_day_table() -> np.ndarray:
    global _TIME_OF_DAY
    if _TIME_OF_DAY is None:
        s = np.arange(DAY)
        table = np.empty((DAY, 10), dtype=np.uint8)
        table[:, 0] = ord("T")
        table[:, 3] = table[:, 6] = ord(":")
        table[:, 9] = ord("Z")
        for col, part in ((1, s // 3600), (4, (s // 60) % 60), (7, s % 60)):
            table[:, col] = 48 + part // 10
            table[:, col + 1] = 48 + part % 10
        _TIME_OF_DAY = table
    return _TIME_OF_DAY


_TIME_U64: np.ndarray | None = None
#: One 20-byte ISO timestamp as two uint64 words and one uint32 word (packed, no padding).
_ISO_WORDS = np.dtype([("a", "<u8"), ("b", "<u8"), ("c", "<u4")])


def iso_timestamps(seconds: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """ISO-8601 UTC strings like ``2025-09-01T14:03:07Z``; ``valid`` False (or NA) -> null.

    Each string is 20 bytes: the date (10) from a per-day table and the time (10) from a
    per-second-of-day table, gathered as whole words (bytes 8-15 mix the two, OR-ed).
    """
    global _TIME_U64
    seconds = np.asarray(seconds, dtype=np.int64)
    n = len(seconds)
    valid = seconds != NA if valid is None else np.asarray(valid, dtype=bool) & (seconds != NA)
    all_valid = bool(valid.all())
    if n == 0 or not valid.any():
        return pa.nulls(n, pa.string())
    safe = seconds if all_valid else np.where(valid, seconds, seconds[valid][0])
    first_day = int(safe.min()) // DAY
    last_day = int(safe.max()) // DAY
    days, sod = np.divmod(safe - first_day * DAY, DAY)
    day_text = np.datetime_as_string(
        np.arange(first_day, last_day + 1).astype("datetime64[D]"), unit="D")
    day_bytes = np.zeros((last_day - first_day + 1, 16), dtype=np.uint8)
    day_bytes[:, :10] = np.frombuffer(day_text.astype("S10").tobytes(),
                                      dtype=np.uint8).reshape(-1, 10)
    date_words = day_bytes.view(np.uint64)
    if _TIME_U64 is None:
        time_bytes = np.zeros((DAY, 24), dtype=np.uint8)
        time_bytes[:, 10:20] = _time_of_day_table()
        _TIME_U64 = time_bytes.view(np.uint64)
    time_words = _TIME_U64
    out = np.empty(n, dtype=_ISO_WORDS)
    out["a"] = date_words[:, 0][days]
    out["b"] = date_words[:, 1][days] | time_words[:, 1][sod]
    out["c"] = time_words[:, 2][sod]
    return fixed_width_strings(out.view(np.uint8).reshape(n, 20), None if all_valid else valid)


def lexsort_order(*keys: np.ndarray) -> np.ndarray:
    """The permutation ``np.lexsort(keys)`` returns (last key primary, ties in input order).

    Integer keys are packed into one non-negative int64 and ordered by a stable radix sort
    (:func:`radix_argsort`), which gives exactly the stable order at under half the cost of
    a comparison sort. Falls back to ``np.lexsort`` when the packed key would not fit.
    """
    m = len(keys[-1])
    if m == 0:
        return np.zeros(0, dtype=np.intp)
    packed = np.zeros(m, dtype=np.int64)
    span = 1
    for key in reversed(keys):
        key = np.asarray(key, dtype=np.int64)
        low, width = int(key.min()), int(key.max()) - int(key.min()) + 1
        span *= width
        if span >= 2**63:
            return np.lexsort(keys)
        packed = packed * width + (key - low)
    return radix_argsort(packed, span)


def radix_argsort(key: np.ndarray, span: int) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of int64 keys in ``[0, span)``.

    Least-significant-digit radix sort, 16 bits per pass: numpy's stable argsort of 16-bit
    integers is a counting sort, so each pass is linear and passes keep earlier order.
    """
    order = np.argsort((key & 0xFFFF).astype(np.uint16), kind="stable")
    shift = 16
    while shift < max(span - 1, 0).bit_length():
        digit = ((key[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
    return order


def stable_argsort(key: np.ndarray) -> np.ndarray:
    """``np.argsort(key, kind="stable")`` of an integer key, computed faster."""
    return lexsort_order(key)


def scramble64(values: np.ndarray, salt: int) -> np.ndarray:
    """A bijection of uint64 (salt xor, odd multipliers, xor-shifts): unique in, unique out."""
    x = np.asarray(values, dtype=np.uint64) ^ np.uint64(salt & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        x = x * np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(29)
        x = x * np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(32)
    return x


_B32 = np.frombuffer(b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8)
_HEX_PAIRS = np.frombuffer(
    b"".join(f"{i:02x}".encode() for i in range(256)), dtype="<u2")


def hex_matrix(values: np.ndarray) -> np.ndarray:
    """``(n, 16)`` ASCII bytes: the 16 lower-case hex digits of each uint64."""
    v = np.ascontiguousarray(np.asarray(values, dtype=np.uint64).astype(">u8"))
    pairs = _HEX_PAIRS[v.view(np.uint8).reshape(-1, 8)]
    return pairs.view(np.uint8).reshape(len(v), 16)


def hex_strings(values: np.ndarray, prefix: bytes = b"", digits: int = 16) -> pa.Array:
    """``prefix`` + the lowest ``digits`` hex digits of each uint64."""
    matrix = hex_matrix(values)[:, 16 - digits:]
    if prefix:
        head = np.broadcast_to(np.frombuffer(prefix, dtype=np.uint8), (len(matrix), len(prefix)))
        matrix = np.concatenate([head, matrix], axis=1)
    return fixed_width_strings(matrix)


def base32_codes(values: np.ndarray, width: int) -> pa.Array:
    """Unambiguous upper-case base-32 codes of ``width`` characters (5 bits each)."""
    v = np.asarray(values, dtype=np.uint64)
    out = np.empty((len(v), width), dtype=np.uint8)
    for i in range(width):
        shift = np.uint64(5 * (width - 1 - i))
        out[:, i] = _B32[((v >> shift) & np.uint64(31)).astype(np.intp)]
    return fixed_width_strings(out)


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal strings of ``width`` digits."""
    v = np.asarray(values, dtype=np.int64)
    out = np.empty((len(v), width), dtype=np.uint8)
    for i in range(width):
        out[:, i] = 48 + (v // 10 ** (width - 1 - i)) % 10
    return fixed_width_strings(out)


def take(pool: pa.Array, index: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Values of ``pool`` at ``index``; ``valid`` False -> null."""
    out = pool.take(pa.array(np.asarray(index, dtype=np.int64)))
    if valid is not None and not np.all(valid):
        out = pc.if_else(pa.array(np.asarray(valid, dtype=bool)), out, pa.nulls(len(out), out.type))
    return out


def categorical(pool: pa.Array, index: np.ndarray, valid: np.ndarray | None = None,
                ) -> pa.DictionaryArray:
    """Values of ``pool`` at ``index`` as a dictionary array; ``valid`` False -> null.

    Building it copies no strings: the CSV writer's thread decodes it when it writes, so
    the generating thread does not pay for it. Use it for columns bound for CSV only.
    """
    indices = np.asarray(index, dtype=np.int32)
    mask = None if valid is None else ~np.asarray(valid, dtype=bool)
    return pa.DictionaryArray.from_arrays(pa.array(indices, mask=mask), pool)


def dictionary_concat(parts: list[pa.Array | None], lengths: list[int],
                      ) -> tuple[np.ndarray, pa.Array]:
    """Concatenate string parts as dictionary indices (int32, -1 = null) into one pool.

    A part is a :func:`categorical` array (its pool joins the combined pool once), a plain
    string array (its values join the pool), or None (``length`` nulls). Reordering the
    indices then moves no strings.
    """
    indices, pools, offset = [], [], 0
    for part, length in zip(parts, lengths, strict=True):
        if part is None:
            indices.append(np.full(length, -1, dtype=np.int32))
            continue
        if isinstance(part, pa.DictionaryArray):
            local = part.indices.fill_null(-1).to_numpy().astype(np.int32)
            pool = part.dictionary
        else:
            local, pool = np.arange(length, dtype=np.int32), part
        indices.append(np.where(local < 0, local, local + offset))
        pools.append(pool)
        offset += len(pool)
    combined = pa.concat_arrays(pools) if pools else pa.array([], pa.string())
    return np.concatenate(indices), combined


def ints(values: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """An int64 Arrow array; ``valid`` False (or NA when valid is None) -> null."""
    v = np.asarray(values, dtype=np.int64)
    if valid is None:
        return pa.array(v)
    return pa.array(v, mask=~np.asarray(valid, dtype=bool))


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays and literal strings."""
    arrays = [p if isinstance(p, pa.Array | pa.ChunkedArray) else pa.scalar(p) for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def int_text(values: np.ndarray) -> pa.Array:
    """Decimal text of int64 values."""
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
