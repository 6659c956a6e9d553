"""Static word vectors from the fine-tuned teachers: a dense block beside the n-grams.

Hashed n-grams only know the words they were trained on; a word the training
tweets never showed (or showed twice) gets no weight.  So the teachers'
knowledge also reaches the student as a table: each word of a fixed list is run
alone through each fine-tuned teacher's encoder (`app.ml.teacher.word_vectors`),
its mean-pooled output (what the teacher's head reads) is the word's vector,
the teachers' vectors are concatenated and reduced by PCA (`reduce`).

A post's block is the SIF-weighted mean of its known words' vectors
(weight a / (a + p(word)), p from the training-text counts), L2-normalised,
and optionally their element-wise maximum (scaled by the table's median vector
norm): the mean dilutes one strong word in a long post, the maximum keeps it.
Words are looked up by the featurizer's own 64-bit token hashes, so there is no
second tokenisation at serving time.

The table is stored beside the teacher's soft labels (`word_vectors.npz`, its
sha256 in the same manifest) and travels inside the model artifact.
Vectors are float16-representable, so training and serving see the same numbers.
"""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from app.ml.hash_index import HashIndex

NPZ = "word_vectors.npz"
SIF_A = 1e-3
_BUCKET_BITS = 21  # lookup table: 2M int32 slots (8 MB), rebuilt on load, never pickled


class WordVectorError(ValueError):
    """The word-vector table is missing from the store or its bytes changed."""


def reduce(vecs: np.ndarray, dims: int) -> np.ndarray:
    """PCA of the centred table to `dims` columns; deterministic (SVD, and each
    component's sign fixed by its largest loading), rounded to float16."""
    x = np.asarray(vecs, np.float64)
    x = x - x.mean(axis=0)
    if dims < x.shape[1]:
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        vt = vt[:dims]
        vt *= np.sign(vt[np.arange(dims), np.abs(vt).argmax(axis=1)])[:, None]
        x = x @ vt.T
    return x.astype(np.float16)


class WordVectors:
    """Sorted 64-bit word keys → float32 vectors and SIF weights."""

    def __init__(self, keys: np.ndarray, vecs: np.ndarray, weights: np.ndarray) -> None:
        order = np.argsort(keys, kind="stable")
        self.keys = np.asarray(keys, np.uint64)[order]
        self.vecs = np.ascontiguousarray(np.asarray(vecs, np.float16)[order], np.float32)
        self.weights = np.asarray(weights, np.float32)[order]
        self._index()

    def _index(self) -> None:
        median = float(np.median(np.linalg.norm(self.vecs, axis=1))) if len(self.vecs) else 0.0
        self._max_scale = 1.0 / median if median > 0 else 1.0
        # bucket → row: one gather per token instead of a binary search over 100k keys
        self._rows = HashIndex(self.keys, _BUCKET_BITS)

    def rows(self, th: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of each token hash in the table, whether it is there)."""
        return self._rows.rows(th)

    @classmethod
    def from_table(cls, words: list[str], vecs: np.ndarray, counts: np.ndarray) -> WordVectors:
        from app.ml.text_hash import string_hash

        counts = np.asarray(counts, np.float64)
        p = (counts + 1.0) / (counts.sum() + len(counts))
        keys = np.array([string_hash(w) for w in words], np.uint64)
        return cls(keys, vecs, SIF_A / (SIF_A + p))

    @property
    def dims(self) -> int:
        return int(self.vecs.shape[1])

    def embed(
        self, th: np.ndarray, td: np.ndarray, n_docs: int, max_pool: bool = False
    ) -> np.ndarray:
        """(n_docs, dims) block for tokens with hashes `th` of documents `td` (sorted);
        with `max_pool`, (n_docs, 2 * dims): the mean block, then the maximum."""
        row, hit = self.rows(th)
        rows, cols = td[hit], row[hit]
        # rows are sorted; int32 indices spare scipy a scan-and-downcast of int64 ones
        indptr = np.searchsorted(rows, np.arange(n_docs + 1)).astype(np.int32)
        m = sp.csr_matrix((self.weights[cols], cols, indptr), shape=(n_docs, len(self.keys)))
        e = np.asarray(m @ self.vecs, dtype=np.float32)
        norm = np.sqrt((e * e).sum(axis=1, keepdims=True))
        norm[norm == 0] = 1.0
        e /= norm
        if not max_pool:
            return e
        return np.hstack([e, self._max_pool(rows, cols, n_docs) * self._max_scale])

    def _max_pool(self, rows: np.ndarray, cols: np.ndarray, n_docs: int) -> np.ndarray:
        """Element-wise max of each post's known words' vectors (zeros for none).
        Posts are put longest first, so the posts that have a j-th word are a prefix
        and level j is one gather and one in-place maximum on a contiguous slice
        (no sort of the entries, no fancy-indexed writes: 1.7x faster than by level
        over scattered rows, which was 2x faster than `np.maximum.reduceat`)."""
        top = np.zeros((n_docs, self.dims), np.float32)
        n = len(rows)
        if n == 0:
            return top
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        counts = np.diff(np.r_[starts, n])
        longest_first = np.argsort(-counts, kind="stable")
        starts, counts = starts[longest_first], counts[longest_first]
        acc = self.vecs[cols[starts]]
        n_longer = len(counts) - np.cumsum(np.bincount(counts))  # posts with more than j words
        for j in range(1, int(counts[0])):
            m = int(n_longer[j])
            np.maximum(acc[:m], self.vecs[cols[starts[:m] + j]], out=acc[:m])
        top[rows[starts]] = acc
        return top

    def __getstate__(self) -> dict[str, Any]:
        return {"keys": self.keys, "vecs": self.vecs.astype(np.float16), "weights": self.weights}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.keys = state["keys"]
        self.vecs = np.ascontiguousarray(state["vecs"], np.float32)
        self.weights = state["weights"]
        self._index()


def save(
    directory: Path, words: list[str], vecs: np.ndarray, counts: np.ndarray, info: dict
) -> str:
    """Write `word_vectors.npz` into the teacher store and record it (with `info`)
    in the store's manifest; returns its sha256."""
    buf = io.BytesIO()
    np.savez_compressed(
        buf, words=np.array(words), vecs=np.asarray(vecs, np.float16), counts=np.asarray(counts)
    )
    data = buf.getvalue()
    (Path(directory) / NPZ).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    path = Path(directory) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["word_vectors"] = dict(info, artifact=NPZ, sha256=digest, n_words=len(words))
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return digest


def load(directory: Path, manifest: dict[str, Any]) -> WordVectors | None:
    """The store's table (None if the store has none); raises `WordVectorError`
    if the file is missing or its sha256 differs from the manifest's."""
    entry = manifest.get("word_vectors")
    if entry is None:
        return None
    try:
        data = (Path(directory) / entry["artifact"]).read_bytes()
    except OSError as exc:
        raise WordVectorError(f"{directory}: word vectors unreadable: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise WordVectorError(f"{directory / entry['artifact']}: sha256 does not match manifest")
    with np.load(io.BytesIO(data)) as z:
        return WordVectors.from_table([str(w) for w in z["words"]], z["vecs"], z["counts"])
