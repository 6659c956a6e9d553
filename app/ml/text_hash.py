"""Polynomial rolling hashes of a joined batch of normalised posts (numpy, no Python
loop per token): what `features.TweetFeaturizer` hashes n-grams and tokens with.

`Batch` turns the posts into one uint64 code point array and its prefix hashes
(wrapping uint64 arithmetic), so the hash of any substring is two gathers and a
multiply by the inverse power; `string_hash` is the same hash of one Python
string (for tables keyed by token: lexicon, negators, word vectors).  `finalise`
mixes a raw hash with a salt into a bucket of a fixed width.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_MASK = (1 << 64) - 1
_P = 0x100000001B3  # FNV-64 prime, odd → invertible mod 2**64
_PINV = pow(_P, -1, 1 << 64)
_MIX = np.uint64(0x9E3779B97F4A7C15)
SALT = {k: np.uint64((0xC2B2AE3D27D4EB4F * k) & _MASK) for k in range(1, 12)}
# one odd multiplier per n-gram length (a different hash family per length)
CHAR_MULT = {
    k: np.uint64((0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D * k) & _MASK | 1) for k in range(1, 9)
}
_pow_cache: tuple[np.ndarray, np.ndarray] = (np.ones(1, np.uint64), np.ones(1, np.uint64))


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P**i and P**-i mod 2**64 for i < n (cached, grown geometrically; thread-safe swap)."""
    global _pow_cache
    pw, pinv = _pow_cache
    if len(pw) >= n:
        return pw, pinv
    size = max(n, 2 * len(pw), 1 << 16)
    with np.errstate(over="ignore"):
        pw = np.full(size, _P, dtype=np.uint64)
        pw[0] = 1
        pw = np.cumprod(pw, dtype=np.uint64)
        pinv = np.full(size, _PINV, dtype=np.uint64)
        pinv[0] = 1
        pinv = np.cumprod(pinv, dtype=np.uint64)
    _pow_cache = (pw, pinv)
    return pw, pinv


def finalise(h: np.ndarray, salt: np.uint64, bits: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = (h + salt) * _MIX
    return (h >> np.uint64(64 - bits)).astype(np.int32)  # bits <= 31


def string_hash(s: str) -> int:
    """The raw 64-bit hash `TweetFeaturizer` computes for a token equal to `s`."""
    h = 0
    p = 1
    for c in s:
        h = (h + (ord(c) + 1) * p) & _MASK
        p = (p * _P) & _MASK
    return h


class Batch:
    """Code points of a joined, normalised batch and their prefix hashes."""

    def __init__(self, norms: Sequence[str]) -> None:
        joined = "\n".join(f" {t} " for t in norms)
        # surrogatepass: a lone surrogate (undecodable input bytes) is one more code point
        raw = joined.encode("utf-32-le", "surrogatepass")
        cp = np.frombuffer(raw, dtype=np.uint32).astype(np.uint64)
        n = len(cp)
        pw, pinv = _powers(n + 1)
        self.n_docs = len(norms)
        self.cp = cp
        self.pinv = pinv
        with np.errstate(over="ignore"):
            self.prefix = np.zeros(n + 1, dtype=np.uint64)
            np.cumsum((cp + np.uint64(1)) * pw[:n], out=self.prefix[1:])
        nl = cp == 10
        self.nl_cum = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(nl, out=self.nl_cum[1:])
        self.doc = self.nl_cum[:-1]  # doc index of each position
        # characters of each post before its newline (its " t " form)
        ends = np.append(np.flatnonzero(nl), n)
        self.doc_len = ends - np.r_[0, ends[:-1] + 1]

    def windows_per_doc(self, ks: Sequence[int]) -> np.ndarray:
        """How many windows of each length in `ks` lie inside each post (no newline)."""
        return sum((np.maximum(self.doc_len - (k - 1), 0) for k in ks), np.zeros(self.n_docs, int))

    def seg_hash(self, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return (self.prefix[ends] - self.prefix[starts]) * self.pinv[starts]

    def tokens(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, end, doc) of whitespace-separated tokens."""
        cp = self.cp
        is_tok = (cp != 32) & (cp != 10)
        edge = np.diff(np.concatenate(([False], is_tok, [False])).astype(np.int8))
        starts = np.flatnonzero(edge == 1)
        ends = np.flatnonzero(edge == -1)
        return starts, ends, self.doc[starts]
