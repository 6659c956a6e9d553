"""FusedHeads: scores from raw hashed streams equal the TF-IDF, L2-per-stream product."""

from __future__ import annotations

import numpy as np
import pytest

from app.ml import heads
from app.ml.heads import FusedHeads

N_DOCS, NH, N_DENSE = 6, 16, 3


def _case(seed: int):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(NH + N_DENSE, 5))
    idf = rng.uniform(1.0, 4.0, size=NH)
    streams = []
    for lo, hi in ((0, 8), (8, NH)):  # a word stream and a char stream, own column ranges
        rows = np.sort(rng.integers(0, N_DOCS - 1, size=40))  # the last post: no entries
        indptr = np.searchsorted(rows, np.arange(N_DOCS + 1)).astype(np.int32)
        streams.append((indptr, rng.integers(lo, hi, size=40).astype(np.int32)))
    dense = rng.normal(size=(N_DOCS, N_DENSE)).astype(np.float32)
    stack = np.zeros((3, 5))
    stack[:, 3] = [0.5, -0.2, 0.1]  # sentiment scores feed the irony column
    b = rng.normal(size=5)
    fused = FusedHeads(W, b, np.ones(5), np.zeros(5), stack, idf)
    # the same scores the slow way, as TweetFeaturizer.transform_blocks weights a stream:
    # each entry idf / (L2 norm over the post's entries; a repeat is one more entry)
    want = dense.astype(np.float64) @ W[NH:] + b
    for indptr, cols in streams:
        rows = np.repeat(np.arange(N_DOCS), np.diff(indptr))
        norm = np.sqrt(np.bincount(rows, weights=idf[cols] ** 2, minlength=N_DOCS))
        X = np.zeros((N_DOCS, NH))
        np.add.at(X, (rows, cols), idf[cols] / np.where(norm == 0, 1.0, norm)[rows])
        want += X @ W[:NH]
    want += want[:, :3] @ stack
    return fused, streams, dense, want


def test_decision_equals_the_tfidf_product() -> None:
    for seed in range(5):
        fused, streams, dense, want = _case(seed)
        np.testing.assert_allclose(fused.decision(streams, dense, N_DOCS), want, atol=1e-5)


def test_a_batch_past_the_kept_buffer_scores_the_same_and_keeps_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fused, streams, dense, want = _case(9)
    monkeypatch.setattr(heads, "_ONES_KEPT", 10)  # each stream here has 40 entries
    np.testing.assert_allclose(fused.decision(streams, dense, N_DOCS), want, atol=1e-5)
    assert len(fused._ones) == 0
    monkeypatch.setattr(heads, "_ONES_KEPT", 1 << 21)
    fused.decision(streams, dense, N_DOCS)
    assert len(fused._ones) == 40 and not fused._ones.flags.writeable
