"""The comms-domain sanity set (bench/comms_set, issue #18 item 6): precision and shares.

    python bench/comms_eval.py [--model models/] [--errors]

A sanity check, never a tuning set: the operating points are chosen elsewhere
(bench/operating_points.py); this prints what a comms officer would see on 315
posts about police forces, councils, transit, utilities and brands.
`--errors` lists every post whose shown label disagrees with ours.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SET = ROOT / "bench" / "comms_set" / "posts.tsv"
SENT = ("negative", "neutral", "positive")


def read_set(path: Path = SET) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh, delimiter="\t", quoting=csv.QUOTE_NONE))


def _prec(pred: np.ndarray, truth: np.ndarray) -> str:
    return f"{(pred & truth).sum() / pred.sum():.2f}" if pred.sum() else "n/a"


def figures(clf: Any, rows: list[dict[str, str]]) -> dict[str, Any]:
    texts = [r["text"] for r in rows]
    proba = clf.predict_proba(texts)
    dec = clf.decide(proba)
    y = np.array([SENT.index(r["sentiment"]) for r in rows])
    iro = np.array([r["irony"] == "irony" for r in rows])
    off = np.array([r["offensive"] == "offensive" for r in rows])
    pred = dec["sentiment"]
    counts = clf.counts(proba)
    n = len(rows)
    out: dict[str, Any] = {"n": n, "rows": []}
    for c, name in enumerate(SENT):
        out["rows"].append(
            (
                name,
                f"{(y == c).mean():6.1%}",
                f"{(pred == c).mean():6.1%}",
                f"{counts['sentiment'][name] / n:6.1%}",
                _prec(pred == c, y == c),
                f"{((pred == c) & (y == c)).sum() / max((y == c).sum(), 1):.2f}",
            )
        )
    for name, truth, shown, est in (
        ("irony", iro, dec["irony"], counts["irony"]),
        ("offensive", off, dec["offensive"], counts["offensive"]),
    ):
        out["rows"].append(
            (
                name,
                f"{truth.mean():6.1%}",
                f"{shown.mean():6.1%}",
                f"{est / n:6.1%}",
                _prec(shown, truth),
                f"{(shown & truth).sum() / max(truth.sum(), 1):.2f}",
            )
        )
    out["errors"] = [
        (r["id"], r["sentiment"], SENT[p], bool(i), bool(o), r["text"])
        for r, p, i, o, yy, ii, oo in zip(
            rows, pred, dec["irony"], dec["offensive"], y, iro, off, strict=True
        )
        if p != yy or i != ii or o != oo
    ]
    # the named cases from issue #18
    named = {
        "Well done Metro Police, my stolen bike was found near the canal!": "not negative",
        "The police chief should resign, this cover-up is a disgrace.": "negative, not offensive",
    }
    idx = {t: k for k, t in enumerate(texts)}
    out["named"] = [
        (
            t,
            want,
            SENT[pred[idx[t]]],
            bool(dec["offensive"][idx[t]]),
            float(proba["sentiment"][idx[t], 0]),
        )
        for t, want in named.items()
        if t in idx
    ]
    return out


def print_figures(fig: dict[str, Any], errors: bool = False) -> None:
    print(
        f"comms-domain sanity set (bench/comms_set, n={fig['n']}, labelled by hand; not tuned on)"
    )
    print(f"{'label':10s} {'truth':>7s} {'shown':>7s} {'counts':>7s} {'prec':>5s} {'recall':>6s}")
    for name, truth, shown, est, prec, rec in fig["rows"]:
        print(f"{name:10s} {truth:>7s} {shown:>7s} {est:>7s} {prec:>5s} {rec:>6s}")
    print("  (shown: share of posts given the label; counts: `classify --counts` estimate / n)")
    for text, want, got, offensive, pneg in fig["named"]:
        print(f"  {text!r}: want {want}; shown {got}, offensive={offensive}, p_negative {pneg:.2f}")
    print(f"  posts with any shown label unlike ours: {len(fig['errors'])} of {fig['n']}")
    if errors:
        for e in fig["errors"]:
            print("   ", *e)


def main() -> int:
    from app.ml.artifacts import load_classifier

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models")
    ap.add_argument("--errors", action="store_true")
    args = ap.parse_args()
    print_figures(figures(load_classifier(args.model), read_set()), args.errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
