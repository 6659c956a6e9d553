#!/usr/bin/env python3
"""Run the service's spike detector over NAB-format CSVs and (optionally) score it.

    python bench/nab.py --data-root DIR --out OUT [--files REL ...]
        [--sensitivity low|medium|high] [--windows FILE] [--scorer PATH]
    python bench/nab.py --loo [--data-root ../shared/nab/data]
        [--windows ../shared/nab/windows_dev.json] [--sensitivity ...]

Every CSV under DIR (header timestamp,value; one count per 5 minutes) is fed,
row by row and causally, to ``app.core.detect.WatchDetector.feed`` as the
``total`` of a bucket (negative/positive/parody 0).  The volume_surge spikes
go through ``app.core.episodes.EpisodeTracker`` -- the same open/close rule
the service's lifecycle applies -- and OUT/<same relative path> gets
timestamp,value,anomaly_score with anomaly_score = 1 on the rows where an
alert would OPEN (or re-open after its quiet period) and 0 elsewhere.
No per-file settings: the preset is the only knob.

Rows are treated as consecutive 5-minute buckets.  A row whose timestamp is
not the one expected (a gap or a clock step in the file) is fed as the next
bucket anyway and counted as "irregular" in the summary.

With --windows, the output is scored by NAB's rule (nabscore.py, threshold
0.5) with the profile matching the preset (low -> reward_low_FP_rate,
medium -> standard, high -> reward_low_FN_rate); all three profiles are shown
for information.

With --loo: leave-one-series-out over the five DEV tweet series for each
preset (or only --sensitivity if given explicitly); see bench/nab_loo.py.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import os
import sys
import time
from datetime import datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from app.core.detect import BUCKET, WatchDetector  # noqa: E402
from app.core.episodes import OPEN, EpisodeTracker  # noqa: E402
from app.core.model import AlertKind, BucketCounts  # noqa: E402
from app.core.presets import SENSITIVITIES  # noqa: E402

PROFILE_FOR = {"low": "reward_low_FP_rate", "medium": "standard", "high": "reward_low_FN_rate"}


def parse_ts(text: str) -> datetime:
    s = text.strip()
    try:
        return datetime.fromisoformat(s)
    except ValueError:
        return datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f")


def detect_series(
    stamps: list[str], values: list[float], sensitivity: str
) -> tuple[list[int], int]:
    """anomaly_score per row (1 = an alert opens there) and the irregular-row count."""
    det = WatchDetector.new(sensitivity)
    episodes = EpisodeTracker(det.preset.quiet_buckets)
    out: list[int] = []
    irregular = 0
    for ts, v in zip(stamps, values, strict=True):
        start = parse_ts(ts)
        nb = det.next_bucket
        if nb is not None and start != nb:
            irregular += 1
            start = nb
        spikes = det.feed(BucketCounts(start=start, total=v if v > 0 else 0))
        active = any(s.kind == AlertKind.VOLUME_SURGE for s in spikes)
        out.append(1 if episodes.step(active) == OPEN else 0)
    return out, irregular


def read_csv(path: str) -> tuple[list[str], list[float]]:
    with open(path, newline="") as fh:
        rdr = csv.reader(fh)
        header = [h.strip() for h in next(rdr)]
        ti = header.index("timestamp") if "timestamp" in header else 0
        vi = header.index("value") if "value" in header else 1
        stamps, values = [], []
        for r in rdr:
            if not r:
                continue
            stamps.append(r[ti])
            try:
                values.append(float(r[vi]))
            except ValueError:
                values.append(0.0)
    return stamps, values


def find_files(data_root: str, files: list[str] | None) -> list[str]:
    if files:
        out = []
        for f in files:
            full = os.path.join(data_root, f)
            if os.path.isdir(full):
                out.extend(os.path.join(f, r) for r in find_files(full, None))
            else:
                out.append(f)
        return sorted(set(out))
    rels = []
    for dirpath, _, names in os.walk(data_root):
        for n in names:
            if n.endswith(".csv"):
                rels.append(os.path.relpath(os.path.join(dirpath, n), data_root))
    return sorted(rels)


def load_scorer(path: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("nabscore", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load scorer {path}")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def score(
    scorer_path: str, windows_path: str, data_root: str, out: str, rels: list[str], sensitivity: str
) -> dict[str, float]:
    ns = load_scorer(scorer_path)
    windows = ns.load_windows(windows_path)
    profiles = ns.load_profiles()
    rels = [r.replace(os.sep, "/") for r in rels if r.replace(os.sep, "/") in windows]
    if not rels:
        print("no scored files (none of them is in the windows file)")
        return {}
    result: dict[str, float] = {}
    groups: dict[str, list[str]] = {}
    for r in rels:
        groups.setdefault(r.split("/")[0], []).append(r)
    for group, members in sorted(groups.items()):
        files = [ns.load_prepared(r, out, windows, data_root) for r in members]
        rep = ns.evaluate(files, profiles, "fixed", threshold=0.5)
        print(f"\n[{group}] {len(members)} files, threshold 0.5, sensitivity={sensitivity}")
        print(
            f"  {'file':44s} {'win':>3s} {'det':>3s} {'miss':>4s} {'FP':>3s}  "
            f"raw({PROFILE_FOR[sensitivity]})"
        )
        prof = rep[PROFILE_FOR[sensitivity]]
        for f in prof["files"]:
            print(
                f"  {f['file']:44s} {f['windows']:3d} {f['detected']:3d} {f['missed']:4d} "
                f"{f['fp_rows']:3d}  {f['score']:8.3f}"
            )
        for pname in ("standard", "reward_low_FP_rate", "reward_low_FN_rate"):
            mark = "  <== preset profile" if pname == PROFILE_FOR[sensitivity] else ""
            print(f"  normalized {pname:20s} {rep[pname]['normalized']:7.2f}{mark}")
            result[f"{group}:{pname}"] = rep[pname]["normalized"]
    return result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", default=os.path.join("..", "shared", "nab", "data"))
    ap.add_argument("--out", help="output folder (required unless --loo)")
    ap.add_argument(
        "--loo",
        action="store_true",
        help="leave one DEV tweet series out, per preset (bench/nab_loo.py)",
    )
    ap.add_argument(
        "--files", nargs="*", default=None, help="relative paths (or sub-folders) under --data-root"
    )
    ap.add_argument("--sensitivity", choices=SENSITIVITIES, default=None)
    ap.add_argument("--windows", help="NAB windows JSON; if given, score the output")
    ap.add_argument("--scorer", default=os.path.join("..", "shared", "nab", "nabscore.py"))
    a = ap.parse_args(argv)
    if a.loo:
        from nab_loo import loo  # bench/ is sys.path[0] when run as a script

        t0 = time.perf_counter()
        ns = load_scorer(a.scorer)
        windows = ns.load_windows(
            a.windows or os.path.join(os.path.dirname(a.scorer), "windows_dev.json")
        )
        sens = (a.sensitivity,) if a.sensitivity else SENSITIVITIES
        loo(ns, windows, a.data_root, read_csv, detect_series, PROFILE_FOR, sens)
        print(f"\n--loo took {time.perf_counter() - t0:.1f} s")
        return 0
    if not a.out:
        ap.error("--out is required (unless --loo)")
    a.sensitivity = a.sensitivity or "medium"

    rels = find_files(a.data_root, a.files)
    if not rels:
        ap.error("no CSV files found")
    t_all = time.perf_counter()
    n_rows = 0
    for rel in rels:
        stamps, values = read_csv(os.path.join(a.data_root, rel))
        t0 = time.perf_counter()
        scores, irregular = detect_series(stamps, values, a.sensitivity)
        dt = time.perf_counter() - t0
        n_rows += len(values)
        dest = os.path.join(a.out, rel)
        os.makedirs(os.path.dirname(dest) or ".", exist_ok=True)
        with open(dest, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["timestamp", "value", "anomaly_score"])
            for ts, v, s in zip(stamps, values, scores, strict=True):
                w.writerow([ts, f"{v:g}", s])
        extra = f", {irregular} irregular rows" if irregular else ""
        print(
            f"{rel}: {len(values)} rows, {sum(scores)} alerts opened, "
            f"{1e6 * dt / max(1, len(values)):.1f} us/row{extra}"
        )
    print(
        f"{len(rels)} files, {n_rows} rows in {time.perf_counter() - t_all:.2f} s "
        f"(bucket {BUCKET}, sensitivity {a.sensitivity})"
    )
    if a.windows:
        score(a.scorer, a.windows, a.data_root, a.out, rels, a.sensitivity)
    return 0


if __name__ == "__main__":
    sys.exit(main())
