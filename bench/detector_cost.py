#!/usr/bin/env python3
"""Cost of the spike detector: incremental update, replay, and a 1,000-watch pass.

    python bench/detector_cost.py [--data-root ../shared/nab/data] [--watches 1000]

1. Incremental update: WatchDetector.feed over the AAPL DEV series (15,902
   buckets) with labelled counts (negative/positive/parody); printed per bucket
   and per point per series (a watch has three modelled series: all posts,
   negative share, parody share).
2. Replay: a fresh detector fed 28 days (8,064 buckets), as the service does
   after a backfill.
3. Detection pass: for each of --watches watches, the service's work --
   json.loads the stored state, from_state, feed the closed bucket, peek the
   open one, to_state, json.dumps.  States come from the five DEV series
   replayed for 28 days, cycled over the watches.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from app.core.detect import BUCKET, WatchDetector  # noqa: E402
from app.core.model import BucketCounts  # noqa: E402

SERIES_PER_WATCH = 3


def load(path: str) -> list[int]:
    with open(path) as fh:
        next(fh)
        return [max(0, int(round(float(line.split(",")[1])))) for line in fh if line.strip()]


def labelled(values: list[int], start: datetime) -> list[BucketCounts]:
    return [
        BucketCounts(
            start=start + i * BUCKET,
            total=v,
            negative=v * 3 // 20,
            positive=v * 3 // 10,
            parody=v // 50,
        )
        for i, v in enumerate(values)
    ]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data-root", default=os.path.join("..", "shared", "nab", "data"))
    ap.add_argument("--watches", type=int, default=1000)
    a = ap.parse_args(argv)
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    names = ["AAPL", "AMZN", "CRM", "CVS", "FB"]
    series = [
        load(os.path.join(a.data_root, "realTweets", f"Twitter_volume_{n}.csv")) for n in names
    ]

    buckets = labelled(series[0], t0)
    best = float("inf")
    for _ in range(3):
        det = WatchDetector.new("medium")
        t = time.perf_counter()
        for b in buckets:
            det.feed(b)
        best = min(best, time.perf_counter() - t)
    per_bucket = 1e6 * best / len(buckets)
    print(
        f"incremental update: {per_bucket:.1f} us per bucket per watch = "
        f"{per_bucket / SERIES_PER_WATCH:.1f} us per point per series "
        f"({len(buckets)} buckets, best of 3)"
    )

    replay = buckets[: 28 * 288]
    t = time.perf_counter()
    det = WatchDetector.new("medium")
    for b in replay:
        det.feed(b)
    print(
        f"replay of 28 days ({len(replay)} buckets) for one watch: {time.perf_counter() - t:.3f} s"
    )

    states = []
    for vals in series:
        det = WatchDetector.new("medium")
        for b in labelled(vals[: 28 * 288], t0):
            det.feed(b)
        states.append(json.dumps(det.to_state()))
    nxt = t0 + 28 * 288 * BUCKET
    closed = BucketCounts(start=nxt, total=60, negative=9, positive=18, parody=1)
    current = BucketCounts(start=nxt + BUCKET, total=25, negative=4, positive=7, parody=0)
    print(f"stored state: {len(states[0])} bytes of JSON per watch")
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for w in range(a.watches):
            det = WatchDetector.from_state(json.loads(states[w % len(states)]))
            det.feed(closed)
            det.peek(current, 0.4)
            json.dumps(det.to_state())
        best = min(best, time.perf_counter() - t)
    print(
        f"detection pass over {a.watches} watches (load state, feed, peek, store): "
        f"{best:.3f} s (best of 3)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
