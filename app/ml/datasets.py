"""Reading the labelled tweets in ../shared/tweets (see its README) and the metrics.

Splits used for validation (nothing here ever sees a test set):

- sentiment: out of time.  Train on every source except `twitter-2016test`,
  validate on `twitter-2016test` (the README shows the pooled `val` overstates
  the withheld SemEval-2017 test by about 20 points).
- irony, offensive: the given `val` split (it tracks test closely).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TASKS = ("sentiment", "irony", "offensive")
LABELS = {
    "sentiment": ("negative", "neutral", "positive"),
    "irony": ("non_irony", "irony"),
    "offensive": ("not_offensive", "offensive"),
}
OOT_SOURCE = "twitter-2016test"


@dataclass(frozen=True)
class Split:
    texts: list[str]
    y: np.ndarray  # int labels, index into LABELS[task]
    sources: list[str]


def read_split(data_dir: Path, task: str, split: str) -> Split:
    path = Path(data_dir) / task / f"{split}.tsv"
    labels = LABELS[task]
    texts: list[str] = []
    ys: list[int] = []
    sources: list[str] = []
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        has_source = len(header) > 2 and header[2] == "source"
        for row in reader:
            if len(row) < 2:
                continue
            texts.append(row[1])
            ys.append(labels.index(row[0]))
            sources.append(row[2] if has_source and len(row) > 2 else "")
    return Split(texts, np.asarray(ys, dtype=np.int64), sources)


def subset(split: Split, mask: np.ndarray) -> Split:
    idx = np.flatnonzero(mask)
    return Split([split.texts[i] for i in idx], split.y[idx], [split.sources[i] for i in idx])


def data_digest(data_dir: Path) -> str:
    """sha256 over the (task, split, bytes) of every train/val file used."""
    h = hashlib.sha256()
    for task in TASKS:
        for split in ("train", "val"):
            path = Path(data_dir) / task / f"{split}.tsv"
            h.update(f"{task}/{split}.tsv\n".encode())
            h.update(path.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- metrics


def macro_recall(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    return float(np.mean([np.mean(pred[y == c] == c) for c in range(n_classes) if np.any(y == c)]))


def f1_of(y: np.ndarray, pred: np.ndarray, cls: int) -> float:
    tp = float(np.sum((pred == cls) & (y == cls)))
    fp = float(np.sum((pred == cls) & (y != cls)))
    fn = float(np.sum((pred != cls) & (y == cls)))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def macro_f1(y: np.ndarray, pred: np.ndarray, n_classes: int) -> float:
    return float(np.mean([f1_of(y, pred, c) for c in range(n_classes)]))


def official_metric(task: str, y: np.ndarray, pred: np.ndarray) -> float:
    """TweetEval metric: sentiment macro recall, irony F1(irony), offensive macro-F1."""
    if task == "sentiment":
        return macro_recall(y, pred, 3)
    if task == "irony":
        return f1_of(y, pred, 1)
    return macro_f1(y, pred, 2)
