"""Serving fast path: the three calibrated linear heads fused into one product.

`FusedHeads.from_heads` reads the fitted sklearn objects (each a
`CalibratedClassifierCV(LinearSVC, method="sigmoid", ensemble=False)`) and
stacks their weights into one float32 matrix, so a batch costs one sparse
pass per feature block instead of one per head.  The probabilities are those
of `CalibratedClassifierCV.predict_proba` (sigmoid per class, then normalised
for the 3-class sentiment head); tests/integration/test_model_artifact.py
checks the two agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

TASK_ORDER = ("sentiment", "irony", "offensive")


class FusedHeads:
    def __init__(
        self,
        W: np.ndarray,
        b: np.ndarray,
        a: np.ndarray,
        c: np.ndarray,
        stack: np.ndarray | None = None,
    ) -> None:
        self.W = np.ascontiguousarray(W, dtype=np.float32)  # (n_features, 5)
        self.b = b.astype(np.float64)
        # (3, 5): raw sentiment scores (columns 0..2 of X @ W + b) feeding each column
        self.stack = np.zeros((3, 5)) if stack is None else stack.astype(np.float64)
        self.a = a.astype(np.float64)  # sigmoid calibration: p = 1 / (1 + exp(a * d + c))
        self.c = c.astype(np.float64)

    @classmethod
    def from_heads(cls, heads: dict[str, Any]) -> FusedHeads:
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
        return cls(np.stack(cols, axis=1), np.array(bs), np.array(as_), np.array(cs), stack)

    def decision(self, blocks: tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]) -> np.ndarray:
        word, char, lex = blocks
        nw, nc = word.shape[1], char.shape[1]
        d = word @ self.W[:nw]
        d += char @ self.W[nw : nw + nc]
        d += lex @ self.W[nw + nc :]
        d = d.astype(np.float64) + self.b
        d += d[:, :3] @ self.stack  # sentiment scores are stacked only into other columns
        return d

    def predict_proba(self, blocks: tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]) -> dict:
        d = self.decision(blocks)
        p = 1.0 / (1.0 + np.exp(self.a * d + self.c))
        sent = p[:, :3]
        total = sent.sum(axis=1, keepdims=True)
        sent = np.divide(sent, total, out=np.full_like(sent, 1.0 / 3), where=total != 0)
        return {"sentiment": np.minimum(sent, 1.0), "irony": p[:, 3], "offensive": p[:, 4]}
