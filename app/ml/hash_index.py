"""Sorted 64-bit keys → row numbers, one gather per query instead of a binary search.

The featurizer looks every token hash up in small tables (lexicon, negators,
symbols, word vectors).  `np.searchsorted` over a few thousand keys costs about
60 ns a token in cache misses and branches; a bucket array (Fibonacci hashing of
the key) answers most queries with one gather and one comparison.  Buckets that
several keys share are marked and those queries fall back to the binary search,
so the answer is always the binary search's (tests/integration/test_word_vectors.py).
"""

from __future__ import annotations

import numpy as np

_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing spreads the keys' low bits
_EMPTY, _SHARED = -1, -2


class HashIndex:
    """Rows of sorted `keys`; the bucket array (4 << bits bytes) is derived
    state, rebuilt from the keys, never pickled by its owners."""

    def __init__(self, keys: np.ndarray, bits: int) -> None:
        self.keys = np.asarray(keys, np.uint64)
        if len(self.keys) > 1 and not (self.keys[1:] >= self.keys[:-1]).all():
            raise ValueError("HashIndex keys must be sorted")
        self.bits = bits
        bucket = self._bucket(self.keys)
        n = 1 << bits
        self.slots = np.full(n, _EMPTY, dtype=np.int32)
        self.slots[bucket] = np.arange(len(self.keys), dtype=np.int32)
        self.slots[np.bincount(bucket, minlength=n) > 1] = _SHARED

    def _bucket(self, h: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return ((h * _MIX) >> np.uint64(64 - self.bits)).astype(np.intp)

    def rows(self, th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of each query in `keys`, whether it is there); row 0 where it is not."""
        slot = self.slots[self._bucket(th)]
        row = np.maximum(slot, 0)
        if len(self.keys) == 0:
            return row, np.zeros(len(th), dtype=bool)
        hit = (slot >= 0) & (self.keys[row] == th)
        shared = np.flatnonzero(slot == _SHARED)
        if len(shared):
            i = np.searchsorted(self.keys, th[shared]).clip(0, len(self.keys) - 1)
            found = self.keys[i] == th[shared]
            row[shared[found]] = i[found]
            hit[shared[found]] = True
        return row, hit
