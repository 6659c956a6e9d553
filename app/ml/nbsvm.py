"""NB-SVM (Wang & Manning 2012): a linear SVM on features scaled by the naive
Bayes log-count ratio r.  Since (x * r) . w = x . (r * w), the fitted model is
an ordinary linear model (`coef_ = r * w`), so serving costs nothing extra.

Multiclass is one-vs-rest with one r per class.  The last `n_dense` columns
(dense lexicon features) are left unscaled.

Knowledge distillation: given `soft` (`SoftTargets`: texts a fine-tuned
transformer labelled with class probabilities), each one-vs-rest SVM also
trains on those rows, once as a positive weighted p and once as a negative
weighted 1 - p (the soft-label cross-entropy, written as sample weights).  r
is still read from the gold rows only.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.svm import LinearSVC


def log_count_ratio(X: sp.csr_matrix, positive: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    B = X.tocsr(copy=True)
    B.sum_duplicates()
    B.data = np.ones_like(B.data)
    p = alpha + np.asarray(B[positive].sum(axis=0)).ravel()
    q = alpha + np.asarray(B[~positive].sum(axis=0)).ravel()
    return np.log((p / p.sum()) / (q / q.sum()))


class SoftTargets:
    """Transfer rows for distillation: features `X` and teacher probabilities `P`
    (n, n_classes), weighted `weight` against the gold rows.

    Training-only and large, so never copied: `sklearn.clone` deep-copies
    parameters and this returns itself; `train` drops it from the fitted heads
    before the artifact is written.
    """

    def __init__(self, X: sp.csr_matrix, P: np.ndarray, weight: float = 1.0) -> None:
        if X.shape[0] != P.shape[0]:
            raise ValueError(f"soft targets: {X.shape[0]} rows but {P.shape[0]} probabilities")
        self.X = sp.csr_matrix(X)
        self.P = np.asarray(P, dtype=np.float64)
        self.weight = weight

    def __deepcopy__(self, memo: dict) -> SoftTargets:
        return self

    def rows(
        self, X: sp.csr_matrix, pos: np.ndarray, column: int, balanced: bool
    ) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Gold rows plus transfer rows for the binary problem `pos` (teacher
        column `column`), with sample weights; 'balanced' class weights are
        computed from the gold rows, as LinearSVC would."""
        n, n_pos = len(pos), int(pos.sum())
        w_pos = n / (2 * n_pos) if balanced else 1.0
        w_neg = n / (2 * (n - n_pos)) if balanced else 1.0
        p = self.P[:, column]
        rows = sp.vstack([X, self.X, self.X], format="csr")
        y = np.concatenate([pos, np.ones(len(p), bool), np.zeros(len(p), bool)]).astype(np.int64)
        w = np.concatenate(
            [np.where(pos, w_pos, w_neg), self.weight * p * w_pos, self.weight * (1 - p) * w_neg]
        )
        keep = w > 1e-6
        return rows[keep], y[keep], w[keep]


class NBSVM(ClassifierMixin, BaseEstimator):
    def __init__(
        self,
        C: float = 0.1,
        alpha: float = 1.0,
        n_dense: int = 0,
        class_weight: str | None = "balanced",
        random_state: int | None = None,
        soft: SoftTargets | None = None,
    ) -> None:
        self.C = C
        self.alpha = alpha
        self.n_dense = n_dense
        self.class_weight = class_weight
        self.random_state = random_state
        self.soft = soft

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> NBSVM:
        X = sp.csr_matrix(X)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        targets = [self.classes_[1]] if len(self.classes_) == 2 else list(self.classes_)
        coefs, inters = [], []
        for cls in targets:
            pos = y == cls
            r = log_count_ratio(X, pos, self.alpha)
            if self.n_dense:
                r[-self.n_dense :] = 1.0
            R = sp.diags(r.astype(np.float32))
            if self.soft is None:
                svc = LinearSVC(
                    C=self.C, class_weight=self.class_weight, random_state=self.random_state
                )
                svc.fit(X @ R, pos.astype(np.int64))
            else:
                balanced = self.class_weight == "balanced"
                Xa, ya, wa = self.soft.rows(X, pos, int(cls), balanced)
                svc = LinearSVC(C=self.C, random_state=self.random_state)
                svc.fit(Xa @ R, ya, sample_weight=wa)
            coefs.append(svc.coef_[0] * r)
            inters.append(svc.intercept_[0])
        self.coef_ = np.vstack(coefs)
        self.intercept_ = np.asarray(inters)
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: sp.csr_matrix) -> np.ndarray:
        d = np.asarray(X @ self.coef_.T) + self.intercept_
        return d.ravel() if len(self.classes_) == 2 else d

    def predict(self, X: sp.csr_matrix) -> np.ndarray:
        d = self.decision_function(X)
        if d.ndim == 1:
            return self.classes_[(d > 0).astype(int)]
        return self.classes_[d.argmax(axis=1)]


class LinearScores:
    """Raw linear scores `X @ coef_.T + intercept_` of an already fitted model.

    Holds the model itself (not a copy of its weights) and is never copied:
    `sklearn.clone` deep-copies non-estimator parameters, and this returns
    itself, so the artifact pickles the sentiment weights once.
    """

    def __init__(self, model: object) -> None:
        self.model = model

    @property
    def coef(self) -> np.ndarray:
        return self.model.coef_

    @property
    def intercept(self) -> np.ndarray:
        return self.model.intercept_

    def __deepcopy__(self, memo: dict) -> LinearScores:
        return self

    def __call__(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef.T) + self.intercept


class StackedNBSVM(NBSVM):
    """NBSVM whose input also holds `stack_weight * base(X)`: the sentiment head's
    raw scores help the irony and offensive heads (multi-task stacking).

    `coef_` covers the columns of X; `stack_coef_` the appended base scores.
    """

    def __init__(
        self,
        base: LinearScores | None = None,
        stack_weight: float = 0.3,
        C: float = 0.1,
        alpha: float = 1.0,
        n_dense: int = 0,
        class_weight: str | None = "balanced",
        random_state: int | None = None,
        soft: SoftTargets | None = None,
    ) -> None:
        super().__init__(C, alpha, n_dense, class_weight, random_state, soft)
        self.base = base
        self.stack_weight = stack_weight

    def _augment(self, X: sp.csr_matrix) -> sp.csr_matrix:
        extra = self.base(X) * self.stack_weight
        return sp.hstack([X, sp.csr_matrix(extra)], format="csr")

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> StackedNBSVM:
        k = self.base.coef.shape[0]
        soft = None
        if self.soft is not None:
            soft = SoftTargets(self._augment(self.soft.X), self.soft.P, self.soft.weight)
        inner = NBSVM(
            self.C, self.alpha, self.n_dense + k, self.class_weight, self.random_state, soft
        )
        inner.fit(self._augment(sp.csr_matrix(X)), y)
        self.classes_ = inner.classes_
        self.coef_ = inner.coef_[:, :-k]
        self.stack_coef_ = inner.coef_[:, -k:]
        self.intercept_ = inner.intercept_
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: sp.csr_matrix) -> np.ndarray:
        d = np.asarray(X @ self.coef_.T) + self.intercept_
        d += (self.base(X) * self.stack_weight) @ self.stack_coef_.T
        return d.ravel() if len(self.classes_) == 2 else d
