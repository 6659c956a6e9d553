"""Teacher soft labels: the store `groundswell teach` writes and `groundswell train` reads.

A fine-tuned transformer (app.ml.teacher) is far too slow to serve (about 180
posts/s on one core), so its knowledge is distilled into the linear heads: it
labels *transfer texts* (the other tasks' tweets) with class probabilities and
the heads train on those rows beside their gold rows (app.ml.nbsvm.SoftTargets).

The store is `soft_labels.npz` (float16 probabilities per teacher and split)
plus `manifest.json` (teacher, data digest, sha256 of the npz, the teacher's
own validation).  `load` refuses a store made from other data or whose bytes
changed, so a training run cannot silently distil from the wrong labels.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np

from app.ml.datasets import LABELS, data_digest

DEFAULT_DIR = Path("models") / "teacher"
NPZ = "soft_labels.npz"
MANIFEST = "manifest.json"

# teacher task -> the (task, split) files whose texts it labels for transfer.
# Never a split that validates the same task: offensive val picks the offensive
# threshold, twitter-2016test (inside sentiment/train) validates sentiment.
TRANSFER: dict[str, tuple[tuple[str, str], ...]] = {
    "sentiment": (
        ("irony", "train"),
        ("irony", "val"),
        ("offensive", "train"),
        ("offensive", "val"),
    ),
    "offensive": (
        ("sentiment", "train"),
        ("sentiment", "val"),
        ("irony", "train"),
        ("irony", "val"),
    ),
}


# teacher task -> rounds of perturbed copies of its own task's tweets it also labels
# (word dropout and cropping, `augment`): more transfer rows in the task's own domain.
AUGMENT_ROUNDS: dict[str, int] = {"sentiment": 2}
AUGMENT_SPLITS = ("train", "val")


def augment(text: str, round_: int) -> str:
    """A perturbed copy of `text`: each word dropped with probability 1/4, then half
    the time a crop of up to a third from each end.  Seeded by (round, text), so
    the same tweet gets the same copy whatever else is in the batch."""
    words = text.split()
    if len(words) < 4:
        return text
    rng = random.Random(f"{round_}:{text}")
    keep = [w for w in words if rng.random() > 0.25]
    if rng.random() < 0.5 and len(keep) > 6:
        i = rng.randrange(0, len(keep) // 3)
        j = len(keep) - rng.randrange(0, len(keep) // 3)
        keep = keep[i:j]
    return " ".join(keep) if keep else text


def aug_key(teacher: str, split: str, round_: int) -> str:
    return f"{teacher}/{teacher}/{split}~aug{round_}"


class SoftLabelError(ValueError):
    """The soft-label store is missing, altered, or made from other data."""


def key(teacher: str, task: str, split: str) -> str:
    return f"{teacher}/{task}/{split}"


def save(out: Path, arrays: dict[str, np.ndarray], manifest: dict[str, Any]) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.savez_compressed(buf, **{k: np.asarray(v, np.float16) for k, v in sorted(arrays.items())})
    data = buf.getvalue()
    (out / NPZ).write_bytes(data)
    manifest = dict(
        manifest,
        artifact=NPZ,
        sha256=hashlib.sha256(data).hexdigest(),
        rows={k: int(len(v)) for k, v in sorted(arrays.items())},
    )
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out


def load(directory: Path, data_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Probabilities per key (float64, rows sum to 1) and the manifest; raises
    `SoftLabelError` with the reason if the store does not fit `data_dir`."""
    directory = Path(directory)
    try:
        manifest = json.loads((directory / MANIFEST).read_text())
        data = (directory / manifest["artifact"]).read_bytes()
    except (OSError, KeyError, ValueError) as exc:
        raise SoftLabelError(f"no readable soft-label store in {directory}: {exc}") from exc
    if hashlib.sha256(data).hexdigest() != manifest.get("sha256"):
        raise SoftLabelError(f"{directory / manifest['artifact']}: sha256 does not match manifest")
    if manifest.get("data_digest") != data_digest(data_dir):
        raise SoftLabelError(
            f"{directory}: made from other training data than {data_dir} (data digest differs)"
        )
    with np.load(io.BytesIO(data)) as npz:
        arrays = {k: npz[k].astype(np.float64) for k in npz.files}
    for k, p in arrays.items():
        teacher = k.split("/")[0]
        if p.ndim != 2 or p.shape[1] != len(LABELS[teacher]):
            raise SoftLabelError(f"{k}: expected {len(LABELS[teacher])} columns, got {p.shape}")
        arrays[k] = p / p.sum(axis=1, keepdims=True)
    return arrays, manifest
