"""Serving fast path: the three calibrated linear heads fused into one product.

`FusedHeads.from_heads` reads the fitted sklearn objects (each a
`CalibratedClassifierCV(LinearSVC, method="sigmoid", ensemble=False)`) and
stacks their weights into one float32 matrix, so a batch costs one sparse
pass per feature block instead of one per head.  The probabilities are those
of `CalibratedClassifierCV.predict_proba` (sigmoid per class, then normalised
for the 3-class sentiment head); tests/integration/test_model_artifact.py
checks the two agree.

The TF-IDF weighting is folded into the product: a hashed column's row holds
idf * w for each head and idf**2 last, so one pass over a stream's raw
(indptr, cols) gives both sum(idf * w) and the squared L2 norm, and the scores
are their ratio.  That is what the sklearn heads compute on
`TweetFeaturizer.transform` (same sums, grouped differently in float32), with
one gather per n-gram instead of two and no weighted sparse matrix to build.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

TASK_ORDER = ("sentiment", "irony", "offensive")
_ONES_KEPT = 1 << 21  # n-grams; a batch of 500 posts has about 150k


class FusedHeads:
    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        a: np.ndarray,
        c: np.ndarray,
        stack: np.ndarray | None = None,
        idf: np.ndarray | None = None,
    ) -> None:
        """`W`: (n_features, 5) over the featurizer's columns; `idf`: the weight of each
        hashed column (the first len(idf) columns), none if every column is dense."""
        W = np.asarray(W, dtype=np.float32)
        idf = np.zeros(0, np.float32) if idf is None else np.asarray(idf, np.float32)
        nh = len(idf)
        # hashed columns: [idf * w (one per head column) | idf**2]; dense columns: w
        self.hashed = np.empty((nh, W.shape[1] + 1), dtype=np.float32)
        np.multiply(W[:nh], idf[:, None], out=self.hashed[:, :-1])
        np.multiply(idf, idf, out=self.hashed[:, -1])
        self.dense = np.ascontiguousarray(W[nh:])
        self._ones = np.ones(0, np.float32)
        self.b = b.astype(np.float64)
        # (3, 5): raw sentiment scores (columns 0..2 of X @ W + b) feeding each column
        self.stack = np.zeros((3, 5)) if stack is None else stack.astype(np.float64)
        self.a = a.astype(np.float64)  # sigmoid calibration: p = 1 / (1 + exp(a * d + c))
        self.c = c.astype(np.float64)

    @classmethod
    def from_heads(cls, heads: dict[str, Any], idf: np.ndarray | None = None) -> FusedHeads:
        cols, bs, as_, cs = [], [], [], []
        stack = np.zeros((3, 5))
        sent_est = heads["sentiment"].calibrated_classifiers_[0].estimator
        for task in TASK_ORDER:
            head = heads[task]
            if len(head.calibrated_classifiers_) != 1 or head.method != "sigmoid":
                raise ValueError(f"{task}: expected one sigmoid-calibrated estimator")
            cal = head.calibrated_classifiers_[0]
            est = cal.estimator
            coef = np.atleast_2d(est.coef_)
            inter = np.atleast_1d(est.intercept_)
            expected = 3 if task == "sentiment" else 1
            if coef.shape[0] != expected or len(cal.calibrators) != expected:
                raise ValueError(f"{task}: unexpected head shape {coef.shape}")
            if list(est.classes_) != list(range(expected if expected > 1 else 2)):
                raise ValueError(f"{task}: classes must be 0..k-1, got {est.classes_}")
            if hasattr(est, "stack_coef_"):
                if est.base.model is not sent_est:
                    raise ValueError(f"{task}: stacked on scores other than the sentiment head")
                stack[:, len(cols)] = est.stack_weight * est.stack_coef_[0]
            for k in range(expected):
                cols.append(coef[k])
                bs.append(inter[k])
                as_.append(cal.calibrators[k].a_)
                cs.append(cal.calibrators[k].b_)
        W = np.stack(cols, axis=1)
        return cls(W, np.array(bs), np.array(as_), np.array(cs), stack, idf)

    def _ones_for(self, n: int) -> np.ndarray:
        """A read-only float32 ones vector of length n: a slice of a kept one, grown up
        to `_ONES_KEPT` entries (8 MB); a longer batch gets its own, freed after."""
        ones = self._ones
        if len(ones) < n:
            if n > _ONES_KEPT:
                return np.ones(n, np.float32)
            ones = np.ones(min(max(n, 2 * len(ones)), _ONES_KEPT), np.float32)
            ones.flags.writeable = False
            self._ones = ones  # a swap: concurrent readers keep the old one
        return ones[:n]

    def decision(
        self, streams: list[tuple[np.ndarray, np.ndarray]], dense: np.ndarray, n_docs: int
    ) -> np.ndarray:
        """Raw scores from `TweetFeaturizer.streams` output: (n_docs, 5)."""
        d = np.asarray(dense, np.float32) @ self.dense
        nh = len(self.hashed)
        for indptr, cols in streams:
            m = sp.csr_matrix((self._ones_for(len(cols)), cols, indptr), shape=(n_docs, nh))
            r = m @ self.hashed
            norm = np.sqrt(r[:, -1])
            norm[norm == 0] = 1.0
            d += r[:, :-1] / norm[:, None]
        d = d.astype(np.float64) + self.b
        d += d[:, :3] @ self.stack  # sentiment scores are stacked only into other columns
        return d

    def predict_proba(
        self, streams: list[tuple[np.ndarray, np.ndarray]], dense: np.ndarray, n_docs: int
    ) -> dict:
        d = self.decision(streams, dense, n_docs)
        p = 1.0 / (1.0 + np.exp(self.a * d + self.c))
        sent = p[:, :3]
        total = sent.sum(axis=1, keepdims=True)
        sent = np.divide(sent, total, out=np.full_like(sent, 1.0 / 3), where=total != 0)
        return {"sentiment": np.minimum(sent, 1.0), "irony": p[:, 3], "offensive": p[:, 4]}
