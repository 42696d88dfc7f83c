"""The demo shop: vector helpers."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from tierwise.demo.codes import _E


def _within(counts: np.ndarray) -> np.ndarray:
    """Position of each repeated row inside its group, for ``np.repeat(x, counts)``."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total) - np.repeat(starts, counts)


def _group_cumsum(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` restarting at each change of the sorted ``groups``."""
    cs = np.cumsum(values, dtype=float)
    if groups.size == 0:
        return cs
    first = np.r_[True, groups[1:] != groups[:-1]]
    start = np.maximum.accumulate(np.where(first, np.arange(groups.size), 0))
    return cs - (cs - values)[start]


def _uniform(
    rng: np.random.Generator, lo: np.ndarray | float, hi: np.ndarray | float, size: int
) -> np.ndarray:
    return lo + rng.random(size) * (np.asarray(hi) - np.asarray(lo))


def _spread(
    rng: np.random.Generator,
    cust: np.ndarray,
    counts: np.ndarray,
    lo: np.ndarray | float,
    hi: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray]:
    """Give each customer ``counts`` ages drawn uniformly in ``[lo, hi)`` (days before as_of)."""
    lo = np.broadcast_to(np.asarray(lo, float), cust.shape)
    hi = np.broadcast_to(np.asarray(hi, float), cust.shape)
    counts = np.where(hi > lo, counts, 0)
    rep = np.repeat(np.arange(cust.size), counts)
    age = lo[rep] + rng.random(rep.size) * (hi - lo)[rep]
    return cust[rep], age


def _pick(rng: np.random.Generator, names: tuple[str, ...], p: tuple[float, ...], size: int):
    """Event type codes drawn from ``names`` with probabilities ``p``."""
    codes = np.array([_E[n] for n in names], np.int8)
    return codes[rng.choice(len(names), size=size, p=np.asarray(p) / sum(p))]


def _largest_remainder(total: int, weights: np.ndarray, minimum: int = 0) -> np.ndarray:
    """Split ``total`` into integer parts proportional to ``weights``."""
    w = np.asarray(weights, float)
    w = w / w.sum()
    raw = w * total
    out = np.floor(raw).astype(np.int64)
    rest = total - int(out.sum())
    order = np.argsort(-(raw - out), kind="stable")
    out[order[:rest]] += 1
    if minimum and total >= minimum * int((w > 0).sum()):
        for i in np.flatnonzero((w > 0) & (out < minimum)):
            j = int(np.argmax(out))
            out[j] -= minimum - out[i]
            out[i] = minimum
    return out


def _id_matrix(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """Ids ``prefix + zero-padded number`` as a ``(len(numbers), len(prefix) + width)`` byte
    matrix."""
    pre = np.frombuffer(prefix.encode("ascii"), np.uint8)
    out = np.empty((numbers.size, pre.size + width), np.uint8)
    out[:, : pre.size] = pre
    small = numbers.size == 0 or int(numbers.max()) < 2**32
    x = numbers.astype(np.uint32 if small else np.uint64)
    for j in range(out.shape[1] - 1, pre.size - 1, -1):
        q = x // 10
        out[:, j] = x - q * 10
        out[:, j] += 48
        x = q
    return out


def _rows(matrix: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``matrix[idx]`` for a byte matrix, gathering whole rows at once."""
    k = matrix.shape[1]
    return matrix.view(f"V{k}").ravel()[idx].view(np.uint8).reshape(-1, k)


def _strings(matrix: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """Arrow strings from the rows of a fixed-width byte matrix (null where not ``valid``)."""
    n, k = matrix.shape
    if valid is None:
        offsets = np.arange(0, (n + 1) * k, k, dtype=np.int32)
        return pa.StringArray.from_buffers(
            n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix))
        )
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(valid.astype(np.int32) * k, out=offsets[1:])
    bitmap = np.packbits(valid, bitorder="little")
    data = np.ascontiguousarray(matrix[valid])
    return pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(data), pa.py_buffer(bitmap), n - int(valid.sum())
    )


def _id_array(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Fixed-width ids ``prefix + zero-padded number`` as an Arrow string array."""
    return _strings(_id_matrix(prefix, numbers, width))


def _time_order(stamps: np.ndarray) -> np.ndarray:
    """Stable ascending order of microsecond stamps that are whole seconds.

    Sorts ``(second << bits) | position`` keys, much faster than ``argsort``.
    """
    m = stamps.size
    if m == 0:
        return np.zeros(0, np.int64)
    sec = stamps // 1_000_000
    sec -= sec.min()
    bits = max(int(m - 1).bit_length(), 1)
    if int(sec.max()).bit_length() + bits > 62:
        return np.argsort(stamps, kind="stable")
    sec <<= bits
    sec |= np.arange(m, dtype=np.int64)
    sec.sort()
    sec &= (1 << bits) - 1
    return sec


def _take(pool: pa.Array, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """``pool[idx]`` with nulls where ``valid`` is false."""
    if valid is None:
        return pool.take(pa.array(idx))
    return pool.take(pa.array(np.where(valid, idx, 0), mask=~valid))
