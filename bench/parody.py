"""Parody scorer benchmark: precision / recall on templated cases.

    python bench/parody.py [--data ../shared/tweets] [--model models/] [--verbose]

Cases (all labelled by the shipped classifier first, as the service does):
- parody: each sample own post (bench/parody_cases/own_posts.txt) rewritten by
  the `parody` templates of bench/parody_cases/templates.txt, with mocking word
  swaps (SWAPS below) and/or mocking commentary;
- sincere: the same posts re-shared, quoted with praise or neutrally;
- unrelated: every text of the sentiment and irony `val` splits.
Expected: parody flagged; sincere and unrelated never flagged.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.core.model import OwnPost  # noqa: E402
from app.core.parody import ParodyIndex  # noqa: E402
from app.ml.artifacts import load_classifier  # noqa: E402
from app.ml.datasets import read_split  # noqa: E402

CASES = Path(__file__).resolve().parent / "parody_cases"

# Mocking edits a parodist makes to a celebratory post (case-insensitive, whole words).
SWAPS = {
    "proud": "ashamed",
    "record profits": "record layoffs",
    "amazing": "underpaid",
    "thank you": "sorry",
    "clean energy": "coal",
    "greener": "darker",
    "excited": "forced",
    "heart": "wallet",
    "wonderful": "miserable",
    "welcome": "fire",
    "cut": "doubled",
    "best": "worst",
    "incredible": "exhausted",
    "faster and easier": "slower and pricier",
    "number one priority": "last priority",
    "zero incidents": "zero accountability",
    "donated": "dodged taxes on",
    "fair prices": "unfair prices",
    "transparency": "secrecy",
    "all-time high": "all-time low",
    "celebrating": "surviving",
    "powering": "overcharging",
    "listen to": "ignore",
    "thrilled": "pretending",
    "ready": "not ready",
    "keep you warm": "keep you waiting",
    "believe in": "pretend to care about",
    "reliability": "outages",
    "volunteers": "unpaid interns",
    "planted": "cut down",
    "simpler and clearer": "longer and pricier",
    "what a day": "what a scam",
    "happy": "sad",
    "big news": "bad news",
    "brand new": "brand new fees in",
}


# A journalist's neutral third-person rewrite: edits without mockery (must not flag).
REPORT_SWAPS = {
    "we're": "Acme is",
    "we are": "Acme is",
    "we have": "Acme has",
    "we": "Acme",
    "our": "its",
    "us": "it",
    "thank you": "it thanked",
    "today": "on Monday",
}


def swap(text: str, table: dict[str, str] = SWAPS) -> str:
    out = text
    for old, new in table.items():
        out = re.sub(rf"\b{re.escape(old)}\b", new, out, flags=re.IGNORECASE)
    return out


def load_own() -> list[OwnPost]:
    posts = []
    for line in (CASES / "own_posts.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            pid, text = line.split("\t", 1)
            posts.append(OwnPost(id=pid, text=text))
    return posts


def load_templates() -> list[tuple[str, str]]:
    out = []
    for line in (CASES / "templates.txt").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            kind, tpl = line.split("\t", 1)
            out.append((kind, tpl))
    return out


def build_cases(data_dir: Path) -> list[tuple[str, str]]:
    """(kind, text) with kind in parody / sincere / unrelated."""
    own = load_own()
    cases: list[tuple[str, str]] = []
    for post in own:
        swapped = swap(post.text)
        if swapped == post.text:
            raise SystemExit(f"no mocking swap applies to {post.id}; extend SWAPS")
        for kind, tpl in load_templates():
            reported = swap(post.text, REPORT_SWAPS)
            cases.append(
                (kind, tpl.format(post=post.text, post_swapped=swapped, post_reported=reported))
            )
    for task in ("sentiment", "irony"):
        cases.extend(("unrelated", t) for t in read_split(data_dir, task, "val").texts)
    return cases


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "tweets")
    ap.add_argument("--model", type=Path, default=ROOT / "models")
    ap.add_argument("--verbose", action="store_true", help="print every mistake")
    args = ap.parse_args()

    clf = load_classifier(args.model)
    index = ParodyIndex.build(load_own())
    cases = build_cases(args.data)
    texts = [t for _, t in cases]
    labels = clf.classify(texts)
    t0 = time.perf_counter()
    verdicts = [index.score(t, lab) for t, lab in zip(texts, labels, strict=True)]
    elapsed = time.perf_counter() - t0

    tp = fp = fn = 0
    by_kind: dict[str, list[int]] = {}
    for (kind, text), v in zip(cases, verdicts, strict=True):
        want = kind == "parody"
        stats = by_kind.setdefault(kind, [0, 0])
        stats[0] += 1
        stats[1] += int(v.is_parody)
        tp += int(want and v.is_parody)
        fp += int(v.is_parody and not want)
        fn += int(want and not v.is_parody)
        if args.verbose and v.is_parody != want:
            print(f"  MISS {kind:9s} score={v.score:.2f} sim={v.similarity:.2f}  {text[:110]}")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    print(f"own posts {len(index)}, cases {len(cases)}")
    for kind, (n, flagged) in sorted(by_kind.items()):
        print(f"  {kind:9s} n={n:5d} flagged={flagged}")
    print(f"precision {precision:.3f}   recall {recall:.3f}   (tp={tp} fp={fp} fn={fn})")
    print(f"scoring cost: {1e6 * elapsed / len(cases):.1f} us/post against {len(index)} own posts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
