"""Read latency under a fixed request rate, on a database with a long history.

Fills a database straight through Core (no HTTP, no classifier: labels drawn with
fixed shares) with --posts posts spread over the --busy busiest of --watches
watches, in the last 30 days (inside retention), and --alerts alerts (resolved but
for one open per watch and kind) with evidence and two history events each. Then
starts `groundswell serve` (uvicorn on 127.0.0.1, the scheduler on as in production,
bench/ingest.py's helper) and sends a mixed load at a fixed rate for --seconds:

  GET /api/v1/alerts                              (the first page, 50 alerts)
  GET /api/v1/watches/{busy}/posts?label=negative (the first page, 100 posts)
  GET /api/v1/watches/{id}

one third each, requests started on a fixed schedule (open loop) by --workers
threads; latency is measured from the scheduled start, so a request that waits
for a free worker counts its wait. Prints the rate reached and p50/p95/p99 per
endpoint beside the target (issue #22: 200 req/s, p99 <= 50 ms). With --ingest N
a further thread pushes N posts/s through POST .../posts meanwhile.

    python bench/latency.py                         # SQLite in a temp dir, 300k posts
    python bench/latency.py --posts 2000000
    python bench/latency.py --postgres              # a throwaway server (scripts/ci_postgres.sh)
    GROUNDSWELL_DATABASE_URL=postgresql+psycopg://... python bench/latency.py
    (an existing database gets the bench's rows: use a scratch one)
"""

from __future__ import annotations

import argparse
import os
import queue
import random
import secrets
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from ingest import TEXTS, on_database, p, server  # noqa: E402

from app.db.migrate import upgrade_head  # noqa: E402
from app.db.session import make_engine  # noqa: E402
from app.db.tables import Alert, AlertEvent, Post, Watch  # noqa: E402

CHUNK = 5_000
GRACE_S = 10.0  # the load stops this long after its schedule ends, answered or not
KINDS = ["negative_surge", "parody_surge", "volume_surge", "channel_silent"]
# label shares of the fill (roughly what the bundled model gives ordinary tweets)
SENTIMENTS = (("negative", 0.3), ("neutral", 0.45), ("positive", 0.25))


def _sentiment(rng: random.Random) -> str:
    x = rng.random()
    for name, share in SENTIMENTS:
        if x < share:
            return name
        x -= share
    return "neutral"


def fill(url: str, args: argparse.Namespace, now: datetime) -> list[str]:
    """Watches, posts and alerts straight through Core; returns the watch ids."""
    engine = make_engine(url)
    upgrade_head(engine)
    rng = random.Random(7)
    ids = [f"wch_bench{i:04d}{secrets.token_hex(4)}" for i in range(args.watches)]
    with engine.begin() as conn:
        conn.execute(
            insert(Watch),
            [
                {
                    "id": w,
                    "name": f"bench watch {i}",
                    "terms": ["acme"],
                    "own_handles": ["acme_official"],
                    "channels": [],
                    "sensitivity": "medium",
                    "created_at": now - timedelta(days=31),
                    "updated_at": now - timedelta(days=31),
                }
                for i, w in enumerate(ids)
            ],
        )
    busy = ids[: args.busy]
    span = 30 * 24 * 3600
    t0 = time.perf_counter()
    done = 0
    while done < args.posts:
        n = min(CHUNK, args.posts - done)
        rows = []
        for i in range(done, done + n):
            sentiment = _sentiment(rng)
            own = rng.random() < 0.002
            # ids grow with time, as they do when posts arrive in order
            created = now - timedelta(seconds=span * (1 - i / args.posts) + 60)
            rows.append(
                {
                    "watch_id": busy[i % len(busy)],
                    "channel": "api",
                    "external_id": f"p{i}",
                    "text": rng.choice(TEXTS)[:280],
                    "fingerprint": "0" * 32,
                    "created_at": created,
                    "ingested_at": created,
                    "url": None,
                    "author_handle": "acme_official" if own else f"user{rng.randrange(50_000)}",
                    "author_followers": rng.randrange(10_000),
                    "metrics": {"likes": rng.randrange(50)},
                    "is_own": own,
                    "sentiment": sentiment,
                    "p_negative": 0.8 if sentiment == "negative" else 0.1,
                    "p_neutral": 0.8 if sentiment == "neutral" else 0.1,
                    "p_positive": 0.8 if sentiment == "positive" else 0.1,
                    "irony": rng.random() < 0.1,
                    "p_irony": rng.random(),
                    "offensive": rng.random() < 0.05,
                    "p_offensive": rng.random(),
                    "parody": rng.random() < 0.01,
                    "parody_score": rng.random(),
                    "parody_of": None,
                }
            )
        with engine.begin() as conn:
            conn.execute(insert(Post), rows)
        done += n
    fill_s = time.perf_counter() - t0
    alerts, events = [], []
    open_slots = {(w, k) for w in ids for k in KINDS}
    for i in range(args.alerts):
        w = ids[i % len(ids)]
        kind = KINDS[(i // len(ids)) % len(KINDS)]
        opened = now - timedelta(seconds=span * (1 - i / args.alerts) + 60)
        is_open = i >= args.alerts - len(ids) * len(KINDS) and (w, kind) in open_slots
        open_slots.discard((w, kind))
        aid = f"alt_bench{i:06d}{secrets.token_hex(4)}"
        alerts.append(
            {
                "id": aid,
                "watch_id": w,
                "kind": kind,
                "state": "open" if is_open else "resolved",
                "severity": "warning",
                "opened_at": opened,
                "updated_at": opened,
                "last_spike_at": opened,
                "last_notified_at": opened,
                "evidence": {
                    "observed": 120,
                    "expected": 20.5,
                    "score": 6.1,
                    "samples": [{"text": rng.choice(TEXTS)[:280]} for _ in range(5)],
                },
                "guidance": {"summary": "bench", "steps": ["check", "respond"]},
                "resolved_by": None if is_open else "bench",
                "resolved_at": None if is_open else opened + timedelta(hours=1),
            }
        )
        events += [
            {"alert_id": aid, "type": "opened", "reason": "surge", "at": opened, "by": None},
            {
                "alert_id": aid,
                "type": "resolved",
                "reason": "quiet",
                "at": opened + timedelta(hours=1),
                "by": "bench",
            },
        ]
    with engine.begin() as conn:
        conn.execute(insert(Alert), alerts)
        conn.execute(insert(AlertEvent), events)
    engine.dispose()
    print(
        f"filled {args.posts:,} posts over {args.busy} of {args.watches} watches "
        f"({args.posts / fill_s:,.0f} rows/s), {args.alerts:,} alerts, {len(events):,} events",
        flush=True,
    )
    return ids


def load(base: str, key: str, ids: list[str], args: argparse.Namespace) -> None:
    busy = ids[: args.busy]
    endpoints = {
        "/alerts": lambda rng: "/api/v1/alerts",
        "/posts?label=negative": lambda rng: (
            f"/api/v1/watches/{rng.choice(busy)}/posts?label=negative"
        ),
        "/watches/{id}": lambda rng: f"/api/v1/watches/{rng.choice(ids)}",
    }
    names = list(endpoints)
    headers = {"Authorization": f"Bearer {key}"}
    # warm up: every endpoint once per worker (connections, caches)
    with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
        rng = random.Random(1)
        for name in names * 3:
            c.get(endpoints[name](rng)).raise_for_status()

    jobs: queue.Queue[tuple[float, str, str] | None] = queue.Queue()
    results: list[tuple[str, float, int]] = []
    lock = threading.Lock()

    n = int(args.rate * args.seconds)
    start = time.perf_counter() + 0.2
    cutoff = start + args.seconds + GRACE_S

    def worker() -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            while (job := jobs.get()) is not None:
                due, name, path = job
                if time.perf_counter() > cutoff:  # bounded: what is left is not sent
                    with lock:
                        results.append((name, float("inf"), 0))
                    continue
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                status = c.get(path).status_code
                with lock:
                    results.append((name, time.perf_counter() - due, status))

    stop = threading.Event()
    pushed = [0]

    def ingest() -> None:
        per = max(1, args.ingest // 10)  # ten batches a second
        rng = random.Random(3)
        with httpx.Client(base_url=base, headers=headers, timeout=30) as c:
            b, t = 0, time.perf_counter()
            while not stop.is_set():
                at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
                posts = [
                    {
                        "external_id": f"live-{b}-{i}",
                        "text": "acme " + rng.choice(TEXTS)[:200],
                        "created_at": at,
                        "author": {"handle": f"user{rng.randrange(5000)}", "followers": 10},
                    }
                    for i in range(per)
                ]
                r = c.post(
                    f"/api/v1/watches/{busy[0]}/posts",
                    content=orjson.dumps({"posts": posts}),
                    headers={"Content-Type": "application/json"},
                )
                r.raise_for_status()
                pushed[0] += r.json()["accepted"]
                b += 1
                t += 0.1
                time.sleep(max(0.0, t - time.perf_counter()))

    threads = [threading.Thread(target=worker) for _ in range(args.workers)]
    for t in threads:
        t.start()
    feeder = threading.Thread(target=ingest) if args.ingest else None
    if feeder:
        feeder.start()
    rng = random.Random(2)
    for i in range(n):
        name = names[i % len(names)]
        jobs.put((start + i / args.rate, name, endpoints[name](rng)))
    for _ in threads:
        jobs.put(None)
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    stop.set()
    if feeder:
        feeder.join()
    done = [r for r in results if r[2] != 0]
    bad = [r for r in done if r[2] != 200]
    print(
        f"scheduled {n:,} requests over {args.seconds:.0f} s; {len(done):,} answered in "
        f"{elapsed:.1f} s: {len(done) / elapsed:,.0f} req/s reached (target {args.rate:,.0f}); "
        f"{n - len(done):,} not sent by {GRACE_S:.0f} s after the schedule ended (counted as "
        f"infinite latency); {len(bad)} not 200"
        + (f"; ingest {pushed[0] / elapsed:,.0f} posts/s" if args.ingest else ""),
    )
    print(
        f"{'endpoint':<24} {'sched':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        f" | {'answered':>8} {'p50 ms':>8} {'p99 ms':>8}   (target p99 <= 50 ms)"
    )
    for name in [*names, "all"]:
        lat = [r[1] for r in results if name in (r[0], "all")]
        answered = [x for x in lat if x != float("inf")]
        ans = answered or [float("nan")]
        print(
            f"{name:<24} {len(lat):>6} {p(lat, 0.5) * 1000:>8.1f} {p(lat, 0.95) * 1000:>8.1f} "
            f"{p(lat, 0.99) * 1000:>8.1f} | {len(answered):>8} {p(ans, 0.5) * 1000:>8.1f} "
            f"{p(ans, 0.99) * 1000:>8.1f}"
        )


def run(url: str, args: argparse.Namespace) -> None:
    print(f"database {url.split('://')[0]}, {os.cpu_count()} cores", flush=True)
    ids = fill(url, args, datetime.now(UTC))
    key = "gs_bench_" + secrets.token_hex(16)
    with server(url, key) as (base, _pid):
        load(base, key, ids, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=300_000, help="posts in the fill (300k)")
    parser.add_argument("--alerts", type=int, default=5_000, help="alerts in the fill (5,000)")
    parser.add_argument("--watches", type=int, default=20, help="watches (20)")
    parser.add_argument("--busy", type=int, default=2, help="watches holding the posts (2)")
    parser.add_argument("--rate", type=float, default=200, help="requests/s (200)")
    parser.add_argument("--seconds", type=float, default=20, help="length of the load (20)")
    parser.add_argument("--workers", type=int, default=16, help="client threads (16)")
    parser.add_argument("--ingest", type=int, default=0, help="posts/s pushed meanwhile (0)")
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway PostgreSQL for the run"
    )
    args = parser.parse_args()
    on_database(run, args)


if __name__ == "__main__":
    main()
