"""Out-of-time probabilities for choosing and checking the operating points.

    python bench/oot_probabilities.py [--data ../shared/tweets] [--out bench/.cache/oot.npz]

The shipped sentiment head trained on every sentiment source, so its scores on
any of them are in-sample.  This script re-fits the whole model with the
shipped configuration (featurizer, sentiment head with the same teacher soft
labels, irony and offensive heads stacked on it) on the sentiment sources
*before 2015*, i.e. without `twitter-2015test` and `twitter-2016test`, and
writes the probabilities it gives on those two held-out years (and on the
irony / offensive val splits) to an .npz:

- `twitter-2015test` (2,309 tweets) is where the sentiment rule is CHOSEN;
- `twitter-2016test` (20,117 tweets) is where it is REPORTED (never chosen on).

Deterministic (seeded like `groundswell train`); about 10-20 minutes on one core.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.ml import word_vectors  # noqa: E402
from app.ml.artifacts import read_manifest, resolve_model_dir  # noqa: E402
from app.ml.datasets import read_split, subset  # noqa: E402
from app.ml.nbsvm import LinearScores  # noqa: E402
from app.ml.soft_labels import load  # noqa: E402
from app.ml.train import (  # noqa: E402
    Progress,
    TrainConfig,
    _texts,
    make_featurizer,
    make_head,
    soft_targets,
)

CHOOSE_SOURCE = "twitter-2015test"
REPORT_SOURCE = "twitter-2016test"
HELD_OUT = (CHOOSE_SOURCE, REPORT_SOURCE)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "tweets")
    ap.add_argument("--model", type=Path, default=ROOT / "models")
    ap.add_argument("--teacher", type=Path, default=ROOT / "models" / "teacher")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / ".cache" / "oot.npz")
    args = ap.parse_args()

    manifest = read_manifest(resolve_model_dir(args.model))
    cfg = TrainConfig.from_dict(manifest["config"])
    soft, teacher = load(args.teacher, args.data)
    vectors = word_vectors.load(args.teacher, teacher)
    progress = Progress(6)

    sent = read_split(args.data, "sentiment", "train")
    iro, iro_val = read_split(args.data, "irony", "train"), read_split(args.data, "irony", "val")
    off, off_val = (
        read_split(args.data, "offensive", "train"),
        read_split(args.data, "offensive", "val"),
    )
    src = np.asarray(sent.sources)
    keep = ~np.isin(src, HELD_OUT)
    old = subset(sent, keep)
    feat = make_featurizer(cfg, vectors).fit(_texts(old, iro, off))
    progress(f"featurizer on {len(old.texts)} older sentiment tweets + irony/offensive train")
    transfer = soft_targets("sentiment", args.data, feat, soft, cfg, {"train": keep})
    head = make_head("sentiment", cfg, feat.n_dense_, soft=transfer)
    head.fit(feat.transform(old.texts), old.y)
    progress("sentiment head")
    base = LinearScores(head.calibrated_classifiers_[0].estimator)
    heads = {"sentiment": head}
    for task, tr in (("irony", iro), ("offensive", off)):
        heads[task] = make_head(
            task, cfg, feat.n_dense_, base, soft_targets(task, args.data, feat, soft, cfg)
        )
        heads[task].fit(feat.transform(tr.texts), tr.y)
        progress(f"{task} head")

    out: dict[str, np.ndarray] = {}
    sets = {s: subset(sent, src == s) for s in HELD_OUT}
    sets["sentiment_val"] = read_split(args.data, "sentiment", "val")
    sets["irony_val"], sets["offensive_val"] = iro_val, off_val
    for name, split in sets.items():
        X = feat.transform(split.texts)
        out[f"{name}/y"] = split.y
        out[f"{name}/sentiment"] = heads["sentiment"].predict_proba(X)
        out[f"{name}/irony"] = heads["irony"].predict_proba(X)[:, 1]
        out[f"{name}/offensive"] = heads["offensive"].predict_proba(X)[:, 1]
    progress("scored the held-out sets")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **out)
    progress(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
