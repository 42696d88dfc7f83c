"""Hashed character n-grams of many texts at once, without a Python loop over characters.

The texts are joined and read as one array of code points; every n-gram (n = 1..3 by default)
of every text is hashed into ``2**bits`` buckets by multiply-add arithmetic on that array. An
n-gram never crosses from one text into the next. Full-width letters and digits are folded to
ASCII and ASCII letters to lower case first, so ``ＧＯＯＤ`` and ``good`` share features.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["HashedNgrams", "hashed_ngrams", "normalize_codes"]

# odd 64-bit multipliers (from splitmix64) for the positions inside an n-gram, and one salt per n
_MULT = np.array(
    [0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB, 0xD6E8FEB86659FD93],
    dtype=np.uint64,
)
_SALT = np.array(
    [0x0, 0x2545F4914F6CDD1D, 0x5851F42D4C957F2D, 0x14057B7EF767814F, 0x1B873593CC9E2D51],
    dtype=np.uint64,
)


@dataclass(frozen=True)
class HashedNgrams:
    """The n-grams of a batch of texts: which text each belongs to and its bucket."""

    doc: np.ndarray
    """Index of the text each n-gram comes from (int64, ascending)."""
    bucket: np.ndarray
    """Hash bucket of each n-gram, in ``[0, 2**bits)`` (int64)."""
    n_docs: int


def normalize_codes(codes: np.ndarray) -> np.ndarray:
    """Fold full-width ASCII (U+FF01..U+FF5E) to ASCII and ASCII letters to lower case."""
    codes = codes.copy()
    wide = (codes >= 0xFF01) & (codes <= 0xFF5E)
    codes[wide] -= 0xFEE0
    upper = (codes >= 0x41) & (codes <= 0x5A)
    codes[upper] += 0x20
    return codes


def hashed_ngrams(texts: Sequence[str], *, bits: int = 20, max_n: int = 3) -> HashedNgrams:
    """Hash the character 1..``max_n``-grams of ``texts`` into ``2**bits`` buckets.

    Parameters
    ----------
    texts
        The texts; ``None`` counts as the empty text.
    bits
        Number of hash bits (buckets ``2**bits``).
    max_n
        Longest n-gram.

    Returns
    -------
    HashedNgrams
        One entry per n-gram occurrence.
    """
    texts = ["" if t is None else str(t) for t in texts]
    n_docs = len(texts)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n_docs)
    total = int(lengths.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return HashedNgrams(empty, empty, n_docs)
    raw = "".join(texts).encode("utf-32-le", "surrogatepass")
    codes = normalize_codes(np.frombuffer(raw, dtype=np.uint32).astype(np.uint64))
    ends = np.cumsum(lengths)
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
    # characters left in the same text from each position on (1 for a text's last character)
    left = np.repeat(ends, lengths) - np.arange(total, dtype=np.int64)
    mask = np.uint64((1 << bits) - 1)
    docs, buckets = [], []
    h = np.zeros(total, dtype=np.uint64)
    for n in range(1, max_n + 1):
        size = total - n + 1
        if size <= 0:
            break
        h = h[:size]
        h += codes[n - 1 : n - 1 + size] * _MULT[(n - 1) % len(_MULT)]
        mixed = h + _SALT[n]
        mixed ^= mixed >> np.uint64(29)
        mixed *= _MULT[2]
        mixed ^= mixed >> np.uint64(32)
        keep = left[:size] >= n
        docs.append(doc_of[:size][keep])
        buckets.append((mixed[keep] & mask).astype(np.int64))
    return HashedNgrams(np.concatenate(docs), np.concatenate(buckets), n_docs)
