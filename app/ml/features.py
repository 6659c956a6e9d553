"""Text preprocessing shared by training and serving (the one source of truth).

`TweetFeaturizer` is the whole way from raw post text to the sparse matrix the
linear heads read; `app.ml.train` fits it and pickles it inside the artifact,
`app.ml.artifacts` only unpickles it, so serving cannot drift from training.

Speed is the design constraint (>= 20,000 posts/s on one core), so nothing is
done per token in Python:

1. `normalise_batch` runs each regex ONCE over the whole batch joined by
   newlines: HTML entities, NFKC, URLs → `<url>`, @handles → `@user`,
   hashtags kept and split on camel case (`#NotMyPres` → `#notmypres not my
   pres`), numbers → `<num>`, elongations capped at two letters plus an
   `<elong>` token, punctuation runs split from words, emoji isolated.
2. `TweetFeaturizer.transform` turns the joined batch into one uint64 code
   point array and computes polynomial rolling hashes with numpy (wrapping
   uint64 arithmetic, app.ml.text_hash): character 2..5-grams, word unigrams (with a salt for
   words in a negation scope) and word bigrams, hashed into fixed buckets
   (no vocabulary to store), sublinear TF × IDF, L2 per stream.
3. Lexicon features (VADER valences, MIT licence, looked up by token hash):
   positive/negative sums and counts, negated valences, exclamation and
   question marks, elongation, URL.  The lexicon is read from the
   `vadersentiment` package at fit time and stored in the fitted object.
   With `profanity`, one more column: the alt-profanity-check SVM's score of
   the post from per-word weights (app.ml.profanity), stored the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin

if TYPE_CHECKING:
    from app.ml.word_vectors import WordVectors

from app.ml.profanity import PROFANITY_SCALE, load_profanity_weights
from app.ml.text_hash import CHAR_MULT, SALT, Batch, finalise, string_hash
from app.ml.token_table import TokenTable
from app.ml.tweet_text import (  # noqa: F401  (normalise is public here too)
    CLAUSE_ENDS,
    EMOTICON,
    NEGATORS,
    emoticon_token,
    normalise,
    normalise_batch,
)


def _indptr(per_doc: np.ndarray) -> np.ndarray:
    """CSR row pointers from entries per post; int32 where it fits (scipy would
    otherwise scan and downcast int64 ones)."""
    indptr = np.zeros(len(per_doc) + 1, dtype=np.int64)
    np.cumsum(per_doc, out=indptr[1:])
    return indptr.astype(np.int32) if indptr[-1] < 2**31 else indptr


# --------------------------------------------------------------------------- lexicon


def load_vader_lexicon() -> dict[str, float]:
    """token → valence (-4..4) from VADER (MIT), plus emoji scored through their names."""
    import vaderSentiment  # training-time only

    base = Path(vaderSentiment.__file__).parent
    lex: dict[str, float] = {}
    for line in (base / "vader_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) >= 2 and " " not in parts[0]:
            key = parts[0].lower()
            if EMOTICON.fullmatch(parts[0]):
                key = emoticon_token(parts[0])
            try:
                lex[key] = float(parts[1])
            except ValueError:
                continue
    for line in (base / "emoji_utf8_lexicon.txt").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 2:
            continue
        words = parts[1].lower().replace("-", " ").split()
        scores = [lex[w] for w in words if w in lex]
        emo = parts[0].replace("\ufe0f", "").replace("\ufe0e", "")
        if scores and len(emo) == 1:
            lex[emo] = float(sum(scores))
    return lex


LEX_NAMES = (
    "pos_sum",
    "neg_sum",
    "pos_n",
    "neg_n",
    "negated_pos",
    "negated_neg",
    "last_val",
    "exclaim",
    "question",
    "elong",
    "url",
    "n_tokens",
    "hashtag",
    "user",
)


# --------------------------------------------------------------------------- featurizer


class TweetFeaturizer(BaseEstimator, TransformerMixin):
    """raw texts → csr [word hash buckets | char hash buckets | lexicon features].

    Stateless hashing (so no vocabulary in the artifact); `fit` learns the IDF of
    each bucket and stores the lexicon.  `transform` is thread-safe (read-only).
    """

    def __init__(
        self,
        word_bits: int = 19,
        char_bits: int = 19,
        char_ns: tuple[int, ...] = (2, 3, 4, 5),
        use_lexicon: bool = True,
        word_vectors: WordVectors | None = None,
        word_max: bool = False,
        profanity: bool = False,
    ) -> None:
        self.word_bits = word_bits
        self.char_bits = char_bits
        self.char_ns = char_ns
        self.use_lexicon = use_lexicon
        self.word_vectors = word_vectors  # dense block after the lexicon columns
        self.word_max = word_max  # that block: SIF mean, then (if set) the max-pooled vectors
        self.profanity = profanity  # one column after the lexicon ones (app.ml.profanity)

    # -- hashing

    def _hashed(self, batch: Batch) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict]:
        """(indptr, cols) of the word stream and of the char stream: post i's entries
        are cols[indptr[i]:indptr[i + 1]]."""
        nw = 1 << self.word_bits
        # words: unigram (salted when in a negation scope) then bigram, token by token
        ts, te, td = batch.tokens()
        th = batch.seg_hash(ts, te)
        nt = len(th)
        tix = self._tokens.lookup(th)
        neg_mask = self._tokens.negator[tix]
        end_mask = self._tokens.clause_end[tix]
        if nt:
            new_doc = np.ones(nt, dtype=bool)
            new_doc[1:] = td[1:] != td[:-1]
            seg = np.cumsum(new_doc | end_mask)
            before = np.cumsum(neg_mask) - neg_mask  # negators strictly before each token
            seg_start = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
            base = np.repeat(before[seg_start], np.diff(np.r_[seg_start, nt]))
            in_scope = ((before - base) > 0) & ~end_mask
        else:
            in_scope = np.zeros(0, dtype=bool)
        salt = np.where(in_scope, SALT[7], SALT[1]).astype(np.uint64)
        uni = finalise(th, salt, self.word_bits)
        pair_ok = np.zeros(nt, dtype=bool)
        bi = np.zeros(nt, dtype=np.int32)
        if nt > 1:
            pair_ok[:-1] = td[1:] == td[:-1]
            with np.errstate(over="ignore"):
                bh = th[:-1] * np.uint64(0x2545F4914F6CDD1D) + th[1:]
            bi[:-1] = finalise(bh, SALT[2], self.word_bits)
        wcols = np.stack([uni, bi], axis=1).ravel()
        wkeep = np.stack([np.ones(nt, dtype=bool), pair_ok], axis=1).ravel()
        wcols = wcols[wkeep]
        per_doc = np.bincount(td, minlength=batch.n_docs)  # tokens; one bigram fewer
        windptr = _indptr(per_doc + np.maximum(per_doc - 1, 0))
        # character n-grams by start position; windows never cross the newline
        # between posts.  Contiguous slices only (no gathers): this is the hot loop.
        n = len(batch.cp)
        ks = tuple(self.char_ns)
        ccols = np.zeros((n, len(ks)), dtype=np.int32)
        ckeep = np.zeros((n, len(ks)), dtype=bool)
        prefix, pinv, nl_cum = batch.prefix, batch.pinv, batch.nl_cum
        shift = np.uint64(64 - self.char_bits)
        with np.errstate(over="ignore"):
            for j, k in enumerate(ks):
                m = n - k + 1
                if m <= 0:
                    continue
                np.equal(nl_cum[k : k + m], nl_cum[:m], out=ckeep[:m, j])
                h = prefix[k : k + m] - prefix[:m]
                h *= pinv[:m]
                h *= CHAR_MULT[k]
                h >>= shift
                ccols[:m, j] = h
        ccols = ccols.ravel()[ckeep.ravel()] + nw
        cindptr = _indptr(batch.windows_per_doc(ks))  # by position, so by post
        tok = {"th": th, "td": td, "scope": in_scope, "tix": tix}
        return [(windptr, wcols), (cindptr, ccols)], tok

    def _lexicon(self, batch: Batch, tok: dict[str, np.ndarray]) -> np.ndarray:
        n_docs = batch.n_docs
        td, scope, tix = tok["td"], tok["scope"], tok["tix"]
        n_lex = len(LEX_NAMES)
        out = np.zeros((n_docs, n_lex + (1 if self.profanity else 0)), dtype=np.float64)

        def bc(w: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
            if mask is None:
                return np.bincount(td, weights=w, minlength=n_docs)
            return np.bincount(td[mask], weights=w[mask], minlength=n_docs)

        if self.use_lexicon:
            v = self._tokens.valence[tix]
            free = ~scope
            out[:, 0] = bc(np.maximum(v, 0), free) / 8.0
            out[:, 1] = bc(np.minimum(v, 0), free) / 8.0
            out[:, 2] = np.minimum(bc((v > 0).astype(float), free), 5) / 5.0
            out[:, 3] = np.minimum(bc((v < 0).astype(float), free), 5) / 5.0
            out[:, 4] = bc(np.maximum(v, 0), scope) / 4.0
            out[:, 5] = bc(np.minimum(v, 0), scope) / 4.0
            has = v != 0
            if has.any():
                last = np.zeros(n_docs)
                last[td[has]] = v[has]  # later tokens overwrite earlier ones
                out[:, 6] = last / 4.0
        sym = self._tokens.symbol[tix]
        per_code = np.bincount(td * 8 + sym, minlength=n_docs * 8).reshape(n_docs, 8)
        for j, code in ((7, 1), (8, 2), (9, 3), (10, 4), (12, 5), (13, 6)):
            out[:, j] = np.minimum(per_code[:, code], 3) / 3.0
        out[:, 11] = np.minimum(np.bincount(td, minlength=n_docs), 60) / 60.0
        if self.profanity:  # the last column: the profanity SVM's score of the post
            num = bc(self._tokens.profanity[tix])
            den = np.sqrt(bc(self._tokens.idf2[tix]))
            np.divide(num, den, out=out[:, n_lex], where=den > 0)
            out[:, n_lex] *= PROFANITY_SCALE
        return out

    def _setup_keys(self) -> None:
        """Derived state: the token table (lexicon, negators, clause ends, symbols)."""
        lex = (self.lex_keys_, self.lex_vals_) if hasattr(self, "lex_keys_") else ((), ())
        prof = None
        if self.profanity and hasattr(self, "prof_keys_"):
            prof = (self.prof_keys_, self.prof_weights_, self.prof_idf_)
        self._tokens = TokenTable(string_hash, *lex, NEGATORS, CLAUSE_ENDS, prof)

    def __setstate__(self, state: dict) -> None:
        state.setdefault("char_ns", (2, 3, 4, 5))
        state.setdefault("word_vectors", None)
        state.setdefault("word_max", False)
        state.setdefault("profanity", False)
        self.__dict__.update(state)
        self._setup_keys()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    # -- sklearn API

    @property
    def n_dense_(self) -> int:
        """Dense columns after the hashed blocks: lexicon features (and the profanity
        score), then word vectors."""
        n = len(LEX_NAMES) + (1 if self.profanity else 0)
        if self.word_vectors is None:
            return n
        return n + self.word_vectors.dims * (2 if self.word_max else 1)

    @property
    def n_features_(self) -> int:
        return (1 << self.word_bits) + (1 << self.char_bits) + self.n_dense_

    def streams(
        self, texts: Sequence[str]
    ) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
        """Before weighting: (indptr, cols) of the word stream and of the char stream
        (cols in `n_features_` numbering, repeats kept), and the dense block.
        `transform_blocks` weights them (TF-IDF, L2 per stream); the serving heads
        (app.ml.heads) fold the same weights into their own product."""
        if not hasattr(self, "_tokens"):
            self._setup_keys()
        batch = Batch(normalise_batch(texts))
        streams, tok = self._hashed(batch)
        lex = self._lexicon(batch, tok)
        if self.word_vectors is None:
            return streams, lex
        vec = self.word_vectors.embed(tok["th"], tok["td"], batch.n_docs, self.word_max)
        return streams, np.hstack([lex, vec])

    def fit(self, X: Iterable[str], y: object = None) -> TweetFeaturizer:
        texts = list(X)
        if self.use_lexicon:
            lex = load_vader_lexicon()
            pairs = sorted({string_hash(k): v for k, v in lex.items()}.items())
            self.lex_keys_ = np.array([p[0] for p in pairs], dtype=np.uint64)
            self.lex_vals_ = np.array([p[1] for p in pairs], dtype=np.float64)
        else:
            self.lex_keys_ = np.zeros(0, dtype=np.uint64)
            self.lex_vals_ = np.zeros(0, dtype=np.float64)
        if self.profanity:
            words, weights, idf = load_profanity_weights()
            by_hash = sorted(zip((string_hash(w) for w in words), weights, idf, strict=True))
            self.prof_keys_ = np.array([h for h, _, _ in by_hash], dtype=np.uint64)
            self.prof_weights_ = np.array([w for _, w, _ in by_hash], dtype=np.float64)
            self.prof_idf_ = np.array([i for _, _, i in by_hash], dtype=np.float64)
        self._setup_keys()
        nh = (1 << self.word_bits) + (1 << self.char_bits)
        df = np.zeros(nh, dtype=np.float64)
        for start in range(0, len(texts), 2000):
            streams, _ = self.streams(texts[start : start + 2000])
            for indptr, cols in streams:
                rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
                key = np.unique(rows * nh + cols)  # document frequency: once per post
                df += np.bincount(key % nh, minlength=nh)
        n = len(texts)
        self.idf_ = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        return self

    def transform_blocks(self, X: Iterable[str]) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
        """(word TF-IDF, char TF-IDF, dense lexicon features): the column blocks of `transform`.

        Repeated n-grams stay as duplicate entries (a sparse product sums them),
        which saves sorting; each block's row norm is taken over its entries.
        """
        texts = list(X)
        n = len(texts)
        streams, lexf = self.streams(texts)
        nw = 1 << self.word_bits
        widths = (nw, 1 << self.char_bits)
        offsets = (0, nw)
        mats = []
        for (indptr, cols), width, off in zip(streams, widths, offsets, strict=True):
            data = self.idf_[cols]
            counts = np.diff(indptr)
            rows = np.repeat(np.arange(n), counts)
            norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n))
            norms[norms == 0] = 1.0
            data /= np.repeat(norms.astype(np.float32), counts)
            mats.append(sp.csr_matrix((data, cols - off, indptr), shape=(n, width)))
        return mats[0], mats[1], lexf.astype(np.float32)

    def transform(self, X: Iterable[str]) -> sp.csr_matrix:
        """TF-IDF rows, L2 per stream (words, chars), then the lexicon columns."""
        word, char, lex = self.transform_blocks(X)
        return sp.hstack([word, char, sp.csr_matrix(lex)], format="csr", dtype=np.float32)
