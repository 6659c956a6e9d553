"""Ingest throughput through the real HTTP API, beside a bare insert of the same rows.

Starts `groundswell serve` (uvicorn on 127.0.0.1, the bundled model, the scheduler
on as in production) against the embedded SQLite, or PostgreSQL, and pushes
batches of 500 posts to POST /api/v1/watches/{id}/posts:

  1. bare insert: the same rows (labelled by the same model) inserted straight
     into the posts table with one Core INSERT executemany per 500, committed per
     batch, from this process while the server is idle: the database's own limit
  2. one client into one empty watch
  3. four clients, each into its own empty watch (four watches)
  4. one client alternating batches between a watch that already holds
     --full-posts posts (written by the bare path) and one that holds only the same
     50 newest own posts (what the parody check reads): the ratio

Each phase prints posts/s, its share of the bare rate (measured just before and
after it: a shared machine's load moves), and p50/p99 request latency.
Targets (issue #22): >= 8,000 posts/s SQLite one client, >= 10,000 PostgreSQL four
clients, >= 40 % of bare, >= 0.9x into a full watch.

    python bench/ingest.py                    # SQLite in a temp dir
    python bench/ingest.py --postgres         # a throwaway server (scripts/ci_postgres.sh)
    GROUNDSWELL_DATABASE_URL=postgresql+psycopg://... python bench/ingest.py
    (an existing database gets the bench's watches and posts: use a scratch one)
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.db.migrate import upgrade_head  # noqa: E402
from app.db.repos import posts as posts_repo  # noqa: E402
from app.db.session import make_engine, make_session_factory, unit_of_work  # noqa: E402
from app.db.tables import Post  # noqa: E402
from app.ml.artifacts import default_models_root, load_classifier  # noqa: E402

BATCH = 500
TERM = "acme"
OWN = "acme_official"
WORDS = [
    "the",
    "road",
    "closure",
    "on",
    "main",
    "street",
    "this",
    "morning",
    "station",
    "open",
    "today",
    "patrol",
    "cars",
    "near",
    "park",
    "community",
    "meeting",
    "hall",
    "tonight",
    "traffic",
    "update",
    "ring",
    "road",
    "lost",
    "dog",
    "river",
    "bridge",
    "council",
    "bins",
    "late",
    "again",
    "water",
    "outage",
    "school",
    "bus",
    "route",
    "changed",
    "new",
    "store",
    "opening",
    "great",
    "work",
    "thanks",
    "team",
    "awful",
    "service",
    "disgrace",
    "shame",
    "love",
    "this",
    "amazing",
    "terrible",
    "useless",
    "helpful",
    "quick",
    "slow",
    "queue",
    "price",
    "refund",
    "delivery",
    "app",
    "broken",
    "fixed",
    "update",
]
TWEETS = ROOT.parent / "shared" / "tweets" / "sentiment" / "train.tsv"


def _load_texts() -> list[str]:
    """Real tweets (../shared, SemEval sentiment train) when present, so the classifier
    and the parody check see ordinary text; else sentences from a small word list."""
    if TWEETS.is_file():
        lines = TWEETS.read_text(encoding="utf-8").splitlines()[1:]
        return [t for t in (ln.split("\t")[1] for ln in lines if "\t" in ln) if t.strip()]
    rng = random.Random(0)
    return [" ".join(rng.choices(WORDS, k=rng.randrange(8, 22))) for _ in range(20_000)]


TEXTS = _load_texts()
TEXT_SOURCE = "tweets (../shared)" if TWEETS.is_file() else "word-list sentences"


def _text(rng: random.Random) -> str:
    words = rng.choice(TEXTS).split()
    words.insert(rng.randrange(len(words) + 1), TERM)
    return " ".join(words)[:1000]


def make_batches(prefix: str, n_batches: int, now: datetime, seed: int) -> list[list[dict]]:
    """Posts of the last hour; one in 200 by the watch's own handle (parody checks run)."""
    rng = random.Random(seed)
    batches = []
    for b in range(n_batches):
        posts = []
        for i in range(BATCH):
            own = rng.random() < 0.005
            posts.append(
                {
                    "external_id": f"{prefix}-{b}-{i}",
                    "text": _text(rng),
                    "created_at": (now - timedelta(seconds=rng.randrange(3600))).isoformat(),
                    "author": {
                        "handle": OWN if own else f"user{rng.randrange(5000)}",
                        "followers": rng.randrange(10_000),
                    },
                    "metrics": {"likes": rng.randrange(50), "shares": 0, "replies": 0},
                }
            )
        batches.append(posts)
    return batches


def bare_rows(classifier, watch_id: str, batch: list[dict], now: datetime) -> list[dict]:
    """The rows the service stores for these posts (labels from the same model)."""
    labels = classifier.classify([p["text"] for p in batch])
    rows = []
    for p, lab in zip(batch, labels, strict=True):
        rows.append(
            {
                "watch_id": watch_id,
                "channel": "api",
                "external_id": p["external_id"],
                "text": p["text"],
                "fingerprint": "0" * 32,
                "created_at": datetime.fromisoformat(p["created_at"]),
                "ingested_at": now,
                "url": None,
                "author_handle": p["author"]["handle"],
                "author_followers": p["author"]["followers"],
                "metrics": p["metrics"],
                "is_own": p["author"]["handle"] == OWN,
                "sentiment": str(lab.sentiment),
                "p_negative": lab.p_negative,
                "p_neutral": lab.p_neutral,
                "p_positive": lab.p_positive,
                "irony": lab.irony,
                "p_irony": lab.p_irony,
                "offensive": lab.offensive,
                "p_offensive": lab.p_offensive,
                "parody": False,
                "parody_score": 0.0,
                "parody_of": None,
            }
        )
    return rows


def bare_insert(engine, row_batches: list[list[dict]]) -> float:
    """posts/s of a plain batched insert (one executemany and one commit per batch)."""
    n = sum(len(b) for b in row_batches)
    t0 = time.perf_counter()
    for rows in row_batches:
        with engine.begin() as conn:
            conn.execute(insert(Post), rows)
    return n / (time.perf_counter() - t0)


def service_insert(engine, row_batches: list[list[dict]]) -> float:
    """posts/s of the service's own insert (posts.insert_new: ON CONFLICT DO NOTHING
    RETURNING; unnest() on PostgreSQL) alone, one transaction per batch."""
    factory = make_session_factory(engine)
    n = sum(len(b) for b in row_batches)
    t0 = time.perf_counter()
    for rows in row_batches:
        with unit_of_work(factory) as s:
            posts_repo.insert_new(s, rows)
    return n / (time.perf_counter() - t0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process (Linux /proc; NaN elsewhere).  On a shared
    machine posts per server CPU-second moves less than posts per wall second."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    pg_dir = tempfile.mkdtemp(prefix="groundswell-bench-pg.")
    os.chmod(pg_dir, 0o755)
    script = ROOT / "scripts" / "ci_postgres.sh"
    try:
        subprocess.run(["bash", str(script), "start", pg_dir], check=True)
        env_line = (Path(pg_dir) / "env").read_text().strip()
        yield env_line.split("=", 1)[1]
    finally:
        subprocess.run(["bash", str(script), "stop", pg_dir], check=False)


@contextmanager
def server(url: str, key: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = dict(os.environ)
    env.update(
        GROUNDSWELL_DATABASE_URL=url,
        GROUNDSWELL_BOOTSTRAP_API_KEY=key,
        GROUNDSWELL_LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("server not ready within 120 s")
            time.sleep(0.3)
        yield base, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_watch(client: httpx.Client, name: str) -> str:
    r = client.post("/api/v1/watches", json={"name": name, "terms": [TERM], "own_handles": [OWN]})
    r.raise_for_status()
    return r.json()["id"]


def push_all(client: httpx.Client, watch_id: str, bodies: list[bytes], out: list[float]) -> int:
    accepted = 0
    for body in bodies:
        t0 = time.perf_counter()
        r = client.post(
            f"/api/v1/watches/{watch_id}/posts",
            content=body,
            headers={"Content-Type": "application/json"},
        )
        out.append(time.perf_counter() - t0)
        r.raise_for_status()
        accepted += r.json()["accepted"]
    return accepted


def encode(batches: list[list[dict]]) -> list[bytes]:
    return [orjson.dumps({"posts": b}) for b in batches]


def p(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def line(label: str, rate: float, bare: float, lat: list[float], target: str) -> str:
    return (
        f"{label:<34} {rate:>8,.0f} posts/s  {rate / bare:>5.1%} of bare  "
        f"p50 {p(lat, 0.5) * 1000:>6.0f} ms  p99 {p(lat, 0.99) * 1000:>6.0f} ms   ({target})"
    )


def run(url: str, args: argparse.Namespace) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    engine = make_engine(url)
    upgrade_head(engine)
    classifier = load_classifier(default_models_root())
    key = secrets.token_urlsafe(32)
    kind = engine.dialect.name
    n = args.batches
    print(
        f"== bench/ingest.py: {kind}, {os.cpu_count()} cores, batches of {BATCH}, "
        f"{n} batches a client a phase, classifier {classifier.name} {classifier.version}, "
        f"scheduler on, texts: {TEXT_SOURCE}, load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    with server(url, key) as (base, pid):
        client = httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
        )
        ids = {
            name: create_watch(client, f"bench {name} {now:%H%M%S}")
            for name in ("warm", "bare", "one", "four0", "four1", "four2", "four3", "full", "empty")
        }
        # warm-up (imports, model caches, connection pool): not timed
        push_all(client, ids["warm"], encode(make_batches("warm", 2, now, 0)), [])

        bare_seed = iter(range(100, 200))

        def bare() -> float:
            """The bare rate now (the machine's load moves; each phase is compared
            with the mean of the bare runs just before and just after it)."""
            seed = next(bare_seed)
            batches = make_batches(f"bare{seed}", n, now, seed)
            return bare_insert(
                engine, [bare_rows(classifier, ids["bare"], b, now) for b in batches]
            )

        bares = [bare()]

        lat1: list[float] = []
        bodies = encode(make_batches("one", n, now, 2))
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        got = push_all(client, ids["one"], bodies, lat1)
        one = got / (time.perf_counter() - t0)
        one_cpu = got / (cpu_seconds(pid) - c0)
        assert got == n * BATCH, got
        bares.append(bare())
        svc = service_insert(
            engine,
            [bare_rows(classifier, ids["bare"], b, now) for b in make_batches("svc", n, now, 99)],
        )

        lat4: list[float] = []
        lock = threading.Lock()
        totals = [0] * 4
        work = [encode(make_batches(f"four{i}", n, now, 10 + i)) for i in range(4)]

        def client_thread(i: int) -> None:
            own: list[float] = []
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=120
            ) as c:
                totals[i] = push_all(c, ids[f"four{i}"], work[i], own)
            with lock:
                lat4.extend(own)

        threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(4)]
        t0, c0 = time.perf_counter(), cpu_seconds(pid)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        four = sum(totals) / (time.perf_counter() - t0)
        four_cpu = sum(totals) / (cpu_seconds(pid) - c0)
        assert sum(totals) == 4 * n * BATCH, totals
        bares.append(bare())

        # a watch that holds many posts: written by the bare path (30 days, 1 in 500 own).
        # The empty watch gets the same newest 50 own posts (all the parody check
        # reads), so the two differ only in history.
        t0 = time.perf_counter()
        own_rows: list[dict] = []
        rng = random.Random(5)
        step = 30 * 86400 / max(args.full_posts, 1)
        done = 0
        while done < args.full_posts:
            chunk = []
            for i in range(done, min(done + 5000, args.full_posts)):
                own = rng.random() < 0.002
                chunk.append(
                    {
                        "watch_id": ids["full"],
                        "channel": "api",
                        "external_id": f"old-{i}",
                        "text": _text(rng),
                        "fingerprint": "0" * 32,
                        "created_at": now - timedelta(seconds=i * step + 3600),
                        "ingested_at": now,
                        "url": None,
                        "author_handle": OWN if own else f"user{rng.randrange(5000)}",
                        "author_followers": 10,
                        "metrics": {},
                        "is_own": own,
                        "sentiment": "neutral",
                        "p_negative": 0.1,
                        "p_neutral": 0.8,
                        "p_positive": 0.1,
                        "irony": False,
                        "p_irony": 0.1,
                        "offensive": False,
                        "p_offensive": 0.0,
                        "parody": False,
                        "parody_score": 0.0,
                        "parody_of": None,
                    }
                )
            with engine.begin() as conn:
                conn.execute(insert(Post), chunk)
            done += len(chunk)
            own_rows += [r for r in chunk if r["is_own"]]
        newest_own = sorted(own_rows, key=lambda r: r["created_at"], reverse=True)[:50]
        with engine.begin() as conn:
            if newest_own:
                conn.execute(insert(Post), [{**r, "watch_id": ids["empty"]} for r in newest_own])
        with engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
        fill_s = time.perf_counter() - t0

        full_b = encode(make_batches("full", n, now, 20))
        empty_b = encode(make_batches("empty", n, now, 21))
        lat_full: list[float] = []
        lat_empty: list[float] = []
        for fb, eb in zip(full_b, empty_b, strict=True):
            push_all(client, ids["full"], [fb], lat_full)
            push_all(client, ids["empty"], [eb], lat_empty)
        full_rate = BATCH / statistics.mean(lat_full)
        empty_rate = BATCH / statistics.mean(lat_empty)

        bares.append(bare())
        client.close()
    sqlite = kind == "sqlite"
    print(
        f"bare insert, same rows (Core executemany, commit per {BATCH}): "
        + ", ".join(f"{b:,.0f}" for b in bares)
        + " posts/s (before phase 1, between phases, after phase 3)"
    )
    print(f"the service's insert statement alone (posts.insert_new, same rows): {svc:,.0f} posts/s")
    print(
        line(
            "1 client, 1 empty watch",
            one,
            (bares[0] + bares[1]) / 2,
            lat1,
            "target >= 8,000 on SQLite, >= 40 % of bare" if sqlite else "target >= 40 % of bare",
        )
    )
    print(
        line(
            "4 clients, 4 empty watches",
            four,
            (bares[1] + bares[2]) / 2,
            lat4,
            "target >= 10,000 on PostgreSQL, p99 <= 1 s" if not sqlite else "p99 <= 1 s",
        )
    )
    print(
        f"{'full watch vs empty (alternating)':<34} {full_rate:>8,.0f} vs {empty_rate:,.0f} "
        f"posts/s (per-request mean) = {full_rate / empty_rate:.2f}x; full watch holds "
        f"{args.full_posts:,} posts (filled in {fill_s:.0f} s), the empty one its newest "
        f"{len(newest_own)} own posts only; p99 full "
        f"{p(lat_full, 0.99) * 1000:.0f} ms   (target >= 0.9x)"
    )
    print(
        f"server CPU (uvicorn process; {'with' if sqlite else 'without'} the database's "
        f"work): 1 client {one_cpu:,.0f}, 4 clients {four_cpu:,.0f} posts per CPU-second"
    )
    print(f"load average at the end {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    engine.dispose()


def on_database(run: Callable[[str, argparse.Namespace], None], args: argparse.Namespace) -> None:
    """run(url, args) on a throwaway PostgreSQL (--postgres), on GROUNDSWELL_DATABASE_URL
    when set, else on a SQLite file in a temporary directory."""
    if args.postgres:
        with throwaway_postgres() as url:
            run(url, args)
        return
    url = os.environ.get("GROUNDSWELL_DATABASE_URL")
    if url:
        run(url, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'bench.db'}", args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20, help="batches of 500 per client (20)")
    parser.add_argument(
        "--full-posts", type=int, default=200_000, help="posts already in the full watch (200k)"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway PostgreSQL for the run"
    )
    args = parser.parse_args()
    on_database(run, args)


if __name__ == "__main__":
    main()
