"""Service-level detection pass: N watches on a real database (SQLite by default).

Builds N watches with a day of 5-minute buckets, runs one pass to build detector
state (the replay), then times steady-state passes of `detect_watches` (load state,
feed the new closed bucket, peek the open one, lifecycle, store) over all watches.

    python bench/service_detect.py [--watches 1000] [--db-url sqlite:///...]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.clock import FrozenClock
from app.core.buckets import BUCKET, bucket_start
from app.db.migrate import upgrade_head
from app.db.session import make_engine, make_session_factory, unit_of_work
from app.db.tables import VolumeBucket, Watch
from app.jobs import tasks
from app.runtime import Runtime
from app.settings import Settings


class _NoClassifier:
    name, version = "none", "0"

    def classify(self, texts: object) -> list[object]:
        raise AssertionError("nothing is ingested in this bench")


class _NoWebhooks:
    def send(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("no deliveries in this bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--db-url")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    url = args.db_url or f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    engine = make_engine(url)
    upgrade_head(engine)
    factory = make_session_factory(engine)
    now = bucket_start(datetime.now(UTC)) + timedelta(minutes=2)
    clock = FrozenClock(now)
    rng = random.Random(1)
    start = bucket_start(now) - timedelta(hours=args.hours)
    with unit_of_work(factory) as s:
        for i in range(args.watches):
            wid = f"wch_bench{i:05d}"
            s.add(
                Watch(
                    id=wid,
                    name=f"w{i}",
                    terms=["x"],
                    own_handles=[],
                    channels=[],
                    sensitivity="medium",
                    created_at=start,
                    updated_at=start,
                    detector_stale=True,
                    detect_dirty=False,
                )
            )
        s.flush()
        rows = []
        for i in range(args.watches):
            t = start
            while t < bucket_start(now):
                total = rng.randrange(0, 12)
                rows.append(
                    {
                        "watch_id": f"wch_bench{i:05d}",
                        "bucket_start": t,
                        "total": total,
                        "negative": total // 6,
                        "positive": total // 3,
                        "parody": 0,
                    }
                )
                t += BUCKET
        s.execute(VolumeBucket.__table__.insert(), rows)
    settings = Settings(database_url=url, scheduler_enabled=False, migrate_on_start=False)
    runtime = Runtime(settings, engine, factory, clock, _NoClassifier(), None, _NoWebhooks())
    t0 = time.perf_counter()
    tasks.detect_watches(runtime, only_dirty=False)
    replay = time.perf_counter() - t0
    passes = []
    for _ in range(3):
        clock.advance(BUCKET)
        t0 = time.perf_counter()
        tasks.detect_watches(runtime, only_dirty=False)
        passes.append(time.perf_counter() - t0)
    print(f"database: {engine.dialect.name}; watches: {args.watches}; history: {args.hours} h")
    print(f"first pass (replays {args.hours} h of buckets per watch): {replay:.2f} s")
    print(
        "steady-state pass over all watches (one new closed bucket each): "
        + ", ".join(f"{p:.2f} s" for p in passes)
        + f"  ->  {min(passes) * 1000 / args.watches:.2f} ms per watch"
    )
    engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
