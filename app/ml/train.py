"""Offline training (`groundswell train`): fit, validate, write artifact + manifest.

One `TweetFeaturizer` (app.ml.features) shared by three linear heads, each an
NB-SVM (app.ml.nbsvm) wrapped in a sigmoid `CalibratedClassifierCV` (calibrated
probabilities, one estimator at serve time).  Everything is seeded, so the
same data and code give the same `model.joblib` bytes.

Validation (see app.ml.datasets): sentiment out of time (older sources →
twitter-2016test), irony and offensive on their `val` split.  The decision
rules are tuned on those validations only and stored in the artifact:

- sentiment: argmax of log p + bias, bias chosen for macro recall out of time
  (the withheld test has another class balance than the training pool);
- irony / offensive: a probability threshold chosen for the task metric on val.

The shipped heads are then refit on all labelled data of the task (sentiment:
train + val; irony / offensive: train, since their val picks the threshold).
The irony and offensive heads also read the sentiment head's three raw scores
(`StackedNBSVM`, weight `stack_weight`): multi-task stacking, still one
sparse product at serve time (app.ml.heads).

Distillation: with a teacher soft-label store (app.ml.soft_labels, written by
`groundswell teach`), the sentiment and offensive heads also train on the
other tasks' tweets labelled by a fine-tuned transformer (`SoftTargets`,
weight `distil_weight`).  The store is an input like the data: the same store
and data give the same artifact.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.model_selection import StratifiedKFold

from app.ml.datasets import (
    LABELS,
    OOT_SOURCE,
    TASKS,
    Split,
    official_metric,
    read_split,
    subset,
)
from app.ml.features import TweetFeaturizer
from app.ml.nbsvm import NBSVM, LinearScores, SoftTargets, StackedNBSVM
from app.ml.soft_labels import AUGMENT_ROUNDS, TRANSFER, aug_key, augment, key
from app.ml.word_vectors import WordVectors

SEED = 20261124


@dataclass
class TrainConfig:
    word_bits: int = 18
    char_bits: int = 18
    char_ns: tuple[int, ...] = (3, 4, 5)
    C: dict[str, float] = field(
        default_factory=lambda: {"sentiment": 0.1, "irony": 0.2, "offensive": 0.2}
    )
    calibration_folds: int = 5
    stack_weight: float = 0.3  # sentiment scores fed to the irony / offensive heads
    distil_weight: float = 1.0  # teacher-labelled transfer rows vs gold rows
    word_max: bool = True  # word vectors: max-pooled block beside the SIF mean
    profanity: bool = True  # the alt-profanity-check score column (app.ml.profanity)
    seed: int = SEED

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        """Inverse of `as_dict` (e.g. the `config` recorded in a manifest)."""
        return cls(
            word_bits=d["word_bits"],
            char_bits=d["char_bits"],
            char_ns=tuple(d["char_ns"]),
            C=dict(d["C"]),
            calibration_folds=d["calibration_folds"],
            stack_weight=d.get("stack_weight", 0.0),
            distil_weight=d.get("distil_weight", 0.0),
            word_max=d.get("word_max", False),
            profanity=d.get("profanity", False),
            seed=d["seed"],
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "word_bits": self.word_bits,
            "char_bits": self.char_bits,
            "char_ns": list(self.char_ns),
            "C": dict(self.C),
            "calibration_folds": self.calibration_folds,
            "stack_weight": self.stack_weight,
            "distil_weight": self.distil_weight,
            "word_max": self.word_max,
            "profanity": self.profanity,
            "seed": self.seed,
            "head": "NBSVM(LinearSVC, class_weight=balanced) + CalibratedClassifierCV(sigmoid)",
        }


class Progress:
    """Step counter with elapsed time, on stderr."""

    def __init__(self, total: int, stream: Any = None) -> None:
        self.total = total
        self.step = 0
        self.t0 = time.perf_counter()
        self.stream = stream if stream is not None else sys.stderr

    def __call__(self, message: str) -> None:
        self.step += 1
        elapsed = time.perf_counter() - self.t0
        bar = "#" * self.step + "." * max(0, self.total - self.step)
        print(f"[{bar}] {self.step}/{self.total} {elapsed:6.1f}s  {message}", file=self.stream)
        self.stream.flush()


def make_featurizer(cfg: TrainConfig, vectors: WordVectors | None = None) -> TweetFeaturizer:
    return TweetFeaturizer(
        cfg.word_bits,
        cfg.char_bits,
        tuple(cfg.char_ns),
        word_vectors=vectors,
        word_max=cfg.word_max and vectors is not None,
        profanity=cfg.profanity,
    )


SoftLabels = dict[str, np.ndarray]


def soft_targets(
    task: str,
    data_dir: Path,
    feat: TweetFeaturizer,
    soft: SoftLabels | None,
    cfg: TrainConfig,
    augmented: dict[str, np.ndarray] | None = None,
) -> SoftTargets | None:
    """The teacher's transfer rows for `task`'s head, or None (no store, no teacher
    for this task, or distillation switched off).  `augmented`: split → row mask of
    the task's own tweets whose perturbed copies (`augment`) join the transfer
    rows; only rows the head itself trains on (never a validation row)."""
    if soft is None or cfg.distil_weight == 0 or task not in TRANSFER:
        return None
    keys = [key(task, t, split) for t, split in TRANSFER[task]]
    if any(k not in soft for k in keys):
        return None
    texts = _texts(*(read_split(data_dir, t, split) for t, split in TRANSFER[task]))
    probs = [soft[k] for k in keys]
    for split, mask in (augmented or {}).items():
        own = read_split(data_dir, task, split).texts
        rows = np.flatnonzero(mask)
        for r in range(AUGMENT_ROUNDS.get(task, 0)):
            if aug_key(task, split, r) in soft:
                texts.extend(augment(own[i], r) for i in rows)
                probs.append(soft[aug_key(task, split, r)][rows])
    return SoftTargets(feat.transform(texts), np.vstack(probs), cfg.distil_weight)


def drop_soft_targets(head: CalibratedClassifierCV) -> None:
    """Training-only rows must not end up in the artifact."""
    for est in [head.estimator, *(c.estimator for c in head.calibrated_classifiers_)]:
        est.soft = None


def sentiment_out_of_time(
    data_dir: Path,
    cfg: TrainConfig | None = None,
    *,
    bias: list[float] | None = None,
    soft: SoftLabels | None = None,
    vectors: WordVectors | None = None,
    with_proba: bool = False,
) -> dict[str, Any]:
    """Sentiment validation out of time: featurizer and head fitted on the sources
    before twitter-2016test (plus the irony/offensive training texts for the
    featurizer's IDF), scored on twitter-2016test.  With `bias` given it is
    applied as is; otherwise it is tuned here (and reported with the score).
    `with_proba`: also return the held-out probabilities and labels ("proba", "y")."""
    cfg = cfg or TrainConfig()
    sent = read_split(data_dir, "sentiment", "train")
    iro = read_split(data_dir, "irony", "train")
    off = read_split(data_dir, "offensive", "train")
    src = np.asarray(sent.sources)
    old, oot = subset(sent, src != OOT_SOURCE), subset(sent, src == OOT_SOURCE)
    feat = make_featurizer(cfg, vectors).fit(_texts(old, iro, off))
    transfer = soft_targets("sentiment", data_dir, feat, soft, cfg, {"train": src != OOT_SOURCE})
    head = make_head("sentiment", cfg, feat.n_dense_, soft=transfer)
    head.fit(feat.transform(old.texts), old.y)
    proba = head.predict_proba(feat.transform(oot.texts))
    if bias is None:
        bias, score = tune_bias(oot.y, proba)
    else:
        score = official_metric("sentiment", oot.y, apply_bias(proba, bias))
    extra = {"proba": proba, "y": oot.y} if with_proba else {}
    return extra | {
        "validation": f"out of time: train on sources before {OOT_SOURCE}, validate on it",
        "distilled": transfer is not None,
        "n_train": len(old.texts),
        "n_val": len(oot.texts),
        "macro_recall_argmax": official_metric("sentiment", oot.y, proba.argmax(1)),
        "macro_recall": score,
        "bias": bias,
    }


def make_head(
    task: str,
    cfg: TrainConfig,
    n_dense: int,
    base: LinearScores | None = None,
    soft: SoftTargets | None = None,
) -> CalibratedClassifierCV:
    """NB-SVM head; with `base` (the sentiment head's raw scores) stacked on them,
    with `soft` also trained on teacher-labelled transfer rows."""
    common = {"C": cfg.C[task], "class_weight": "balanced", "random_state": cfg.seed, "soft": soft}
    if base is None or cfg.stack_weight == 0:
        svc = NBSVM(n_dense=n_dense, **common)
    else:
        svc = StackedNBSVM(base, cfg.stack_weight, n_dense=n_dense, **common)
    folds = StratifiedKFold(cfg.calibration_folds, shuffle=True, random_state=cfg.seed)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=folds, ensemble=False)


def tune_threshold(task: str, y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Best (threshold, metric) on a grid of 0.05..0.95; ties → the threshold nearest 0.5."""
    best = (-1.0, 0.0, 0.5)
    for t in np.round(np.arange(0.05, 0.951, 0.01), 2):
        m = official_metric(task, y, (p >= t).astype(np.int64))
        key = (round(m, 6), -abs(t - 0.5), float(t))
        if key[:2] > best[:2]:
            best = key
    return best[2], best[0]


def tune_bias(y: np.ndarray, proba: np.ndarray) -> tuple[list[float], float]:
    """Additive log-probability offsets (neutral fixed at 0) maximising macro recall."""
    logp = np.log(np.clip(proba, 1e-9, 1.0))
    best = (-1.0, 0.0, [0.0, 0.0, 0.0])
    grid = np.round(np.arange(-2.0, 2.01, 0.1), 2)
    for bn in grid:
        for bp in grid:
            bias = np.array([bn, 0.0, bp])
            m = official_metric("sentiment", y, (logp + bias).argmax(1))
            key = (round(m, 6), -(abs(bn) + abs(bp)), [float(bn), 0.0, float(bp)])
            if key[:2] > best[:2]:
                best = key
    return best[2], best[0]


def apply_bias(proba: np.ndarray, bias: list[float]) -> np.ndarray:
    return (np.log(np.clip(proba, 1e-9, 1.0)) + np.asarray(bias)).argmax(1)


def _texts(*splits: Split) -> list[str]:
    out: list[str] = []
    for s in splits:
        out.extend(s.texts)
    return out


def train(
    data_dir: Path,
    cfg: TrainConfig | None = None,
    soft: SoftLabels | None = None,
    vectors: WordVectors | None = None,
) -> dict[str, Any]:
    """Fit everything; returns {"model": artifact dict, "metrics": ..., "config": ...}.
    `soft`: the teacher's soft labels (app.ml.soft_labels.load), or None;
    `vectors`: the teacher's word-vector table (app.ml.word_vectors.load), or None."""
    cfg = cfg or TrainConfig()
    progress = Progress(7)
    sent = read_split(data_dir, "sentiment", "train")
    sent_val = read_split(data_dir, "sentiment", "val")
    iro, iro_val = read_split(data_dir, "irony", "train"), read_split(data_dir, "irony", "val")
    off = read_split(data_dir, "offensive", "train")
    off_val = read_split(data_dir, "offensive", "val")
    progress(
        f"read data: sentiment {len(sent.texts)} (+{len(sent_val.texts)} val), "
        f"irony {len(iro.texts)}, offensive {len(off.texts)}"
    )

    metrics: dict[str, Any] = {}
    # ---- sentiment, out of time: featurizer and head see only the older sources
    metrics["sentiment"] = sentiment_out_of_time(data_dir, cfg, soft=soft, vectors=vectors)
    bias = metrics["sentiment"]["bias"]
    progress(
        f"sentiment out of time: macro recall {metrics['sentiment']['macro_recall']:.4f} "
        f"with bias {bias} (argmax {metrics['sentiment']['macro_recall_argmax']:.4f})"
    )

    # ---- shipped featurizer: all training texts of the three tasks (+ sentiment val)
    feat = make_featurizer(cfg, vectors).fit(_texts(sent, sent_val, iro, off))
    progress("fitted featurizer on all training texts")
    heads: dict[str, CalibratedClassifierCV] = {}
    thresholds: dict[str, float] = {}
    X_sent = feat.transform(_texts(sent, sent_val))
    y_sent = np.concatenate([sent.y, sent_val.y])
    every = {"train": np.ones(len(sent.texts), bool), "val": np.ones(len(sent_val.texts), bool)}
    transfer = soft_targets("sentiment", data_dir, feat, soft, cfg, every)
    heads["sentiment"] = make_head("sentiment", cfg, feat.n_dense_, soft=transfer)
    heads["sentiment"].fit(X_sent, y_sent)
    drop_soft_targets(heads["sentiment"])
    progress("sentiment head fitted on train + val")
    sent_est = heads["sentiment"].calibrated_classifiers_[0].estimator
    base = LinearScores(sent_est)
    for task, tr, va in (("irony", iro, iro_val), ("offensive", off, off_val)):
        transfer = soft_targets(task, data_dir, feat, soft, cfg)
        heads[task] = make_head(task, cfg, feat.n_dense_, base, transfer)
        heads[task].fit(feat.transform(tr.texts), tr.y)
        drop_soft_targets(heads[task])
        p = heads[task].predict_proba(feat.transform(va.texts))[:, 1]
        thr, score = tune_threshold(task, va.y, p)
        thresholds[task] = thr
        metrics[task] = {
            "validation": "val split",
            "distilled": transfer is not None,
            "n_val": len(va.texts),
            "metric_at_0.5": official_metric(task, va.y, (p >= 0.5).astype(np.int64)),
            "metric": score,
            "threshold": thr,
        }
        progress(f"{task}: val metric {score:.4f} at threshold {thr}")
    model = {
        "featurizer": feat,
        "heads": heads,
        "labels": {t: list(LABELS[t]) for t in TASKS},
        "sentiment_bias": bias,
        "thresholds": thresholds,
    }
    progress("done")
    return {"model": model, "metrics": metrics, "config": cfg.as_dict()}
