"""Everything the featurizer knows about single tokens, found with one lookup.

A token's 64-bit hash (`features.string_hash`) indexes one table that holds its
lexicon valence, its profanity weight and idf (app.ml.profanity), its symbol
code (`!`, `?`, `<elong>`, `<url>`, `@user`) and whether it is a negator or ends
a clause.  One `HashIndex` gather per token
replaces two `np.isin` calls and two binary searches (same answers; the table
is derived state, rebuilt when a featurizer is loaded, never pickled).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from app.ml.hash_index import HashIndex

_BITS = 18  # 256k int32 buckets (1 MB) for about 8k keys: few shared buckets

# symbol code → lexicon column (features.LEX_NAMES), counted per post
SYMBOLS = {
    "!": 1,
    "!!": 1,
    "?": 2,
    "??": 2,
    "!?": 2,
    "?!": 2,
    "<elong>": 3,
    "<url>": 4,
    "@user": 6,
}


class TokenTable:
    def __init__(
        self,
        hash_of: Callable[[str], int],
        lex_keys: np.ndarray,
        lex_vals: np.ndarray,
        negators: Iterable[str],
        clause_ends: Iterable[str],
        profanity: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> None:
        """`profanity`: (token hashes, idf * weight, idf), or None for no such column."""
        neg = {hash_of(w) for w in negators}
        end = {hash_of(w) for w in clause_ends}
        sym = {hash_of(w): code for w, code in SYMBOLS.items()}
        lex_k, lex_v = np.asarray(lex_keys, np.uint64).tolist(), np.asarray(lex_vals).tolist()
        lex = dict(zip(lex_k, lex_v, strict=True))
        prof: dict[int, tuple[float, float]] = {}
        if profanity is not None:
            pk, pw, pidf = (np.asarray(a).tolist() for a in profanity)
            prof = dict(zip(pk, zip(pw, pidf, strict=True), strict=True))
        keys = np.array(sorted(set(lex) | neg | end | set(sym) | set(prof)), dtype=np.uint64)
        k = keys.tolist()
        # one extra last row answers every token not in the table
        self.valence = np.array([lex.get(h, 0.0) for h in k] + [0.0], dtype=np.float64)
        self.symbol = np.array([sym.get(h, 0) for h in k] + [0], dtype=np.int64)
        self.negator = np.array([h in neg for h in k] + [False], dtype=bool)
        self.clause_end = np.array([h in end for h in k] + [False], dtype=bool)
        none = (0.0, 0.0)
        self.profanity = np.array([prof.get(h, none)[0] for h in k] + [0.0], dtype=np.float64)
        self.idf2 = np.array([prof.get(h, none)[1] ** 2 for h in k] + [0.0], dtype=np.float64)
        self._index = HashIndex(keys, _BITS)
        self._miss = len(k)

    def lookup(self, th: np.ndarray) -> np.ndarray:
        """Row of each token hash in the attribute arrays (the last row if unknown)."""
        row, hit = self._index.rows(th)
        return np.where(hit, row, self._miss)
