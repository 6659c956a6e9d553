"""One hanging webhook subscriber beside two healthy ones: how long the healthy ones wait.

    python bench/delivery_hang.py [--alerts 20] [--timeout 2] [--db postgresql+psycopg://...]

Issue #20's probe saw a healthy subscriber wait p50 43 s (max 70 s) while another
hung, because the outbox was drained one message at a time. This runs the same
shape twice on a fresh database (SQLite file unless --db), with the real HTTP
client against the local fake receiver (tests/fakes), a scheduler-like thread
calling the delivery tick every second, and one alert.opened per 0.5 s fanned out
to three subscriptions, /slow of which never answers (each request times out):

- "one at a time": the dispatcher inline (workers=0), i.e. the drain as it was;
- "per target": the dispatcher's pool (one sender per target).

It prints the healthy subscribers' latency (enqueue -> receiver) p50/p95/max for
each, beside the issue's limit (healthy p95 <= 5 s while another target hangs),
and the ratio of the two p95s. The client timeout is --timeout (the service's is
10 s; a shorter one keeps the run short and only flatters "one at a time").
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete  # noqa: E402

from app.clock import SystemClock  # noqa: E402
from app.db.base import Base  # noqa: E402
from app.db.migrate import upgrade_head  # noqa: E402
from app.db.repos import outbox as outbox_repo  # noqa: E402
from app.db.session import make_engine, make_session_factory, unit_of_work  # noqa: E402
from app.notify.webhooks import WebhookSender  # noqa: E402
from app.services import subscriptions as sub_service  # noqa: E402
from app.services.dispatch import Dispatcher  # noqa: E402
from tests.fakes.webhook_receiver import WebhookReceiver  # noqa: E402

LIMIT_P95 = 5.0  # issue #20: a healthy target's p95 <= 5 s while another hangs


class Receiver(WebhookReceiver):
    """Records arrival times; requests to /slow hang until the run ends."""

    def __init__(self) -> None:
        super().__init__()
        self.arrival: dict[str, float] = {}  # webhook-id + path -> monotonic time
        self.done = threading.Event()

    def handle(self, path, headers, body):
        if path == "/slow":
            self.done.wait(120)
        else:
            with self._lock:
                self.arrival.setdefault(f"{headers.get('webhook-id')}{path}", time.monotonic())
        return super().handle(path, headers, body)


def run(url: str | None, workers: int, alerts: int, timeout: float) -> list[float]:
    tmp = tempfile.TemporaryDirectory()
    engine = make_engine(url or f"sqlite:///{tmp.name}/bench.db")
    upgrade_head(engine)
    factory = make_session_factory(engine)
    clock = SystemClock()
    sender = WebhookSender(allow_private=True, timeout=timeout)
    with Receiver() as rx:
        subs = {}
        with unit_of_work(factory) as s:
            for path in ("/slow", "/a", "/b"):
                sub = sub_service.create(
                    s,
                    url=rx.url_for(path),
                    events=["alert.opened"],
                    now=clock.now(),
                    allow_private=True,
                )
                rx.set_secret(sub.secret, path=path)
                subs[path] = sub.id
        dispatcher = Dispatcher(factory, clock=clock, slack=None, webhooks=sender, workers=workers)
        stop = threading.Event()

        def scheduler() -> None:  # APScheduler's interval job, max_instances=1
            while not stop.is_set():
                dispatcher.tick()
                stop.wait(1.0)

        ticker = threading.Thread(target=scheduler, daemon=True)
        ticker.start()
        queued: dict[str, float] = {}
        for i in range(alerts):
            with unit_of_work(factory) as s:
                now = datetime.now(UTC)
                for path, sub_id in subs.items():
                    msg = outbox_repo.enqueue(
                        s,
                        alert_id=f"alr_{i}",
                        target="webhook",
                        event_type="alert.opened",
                        payload={"type": "alert.opened", "data": {"id": f"alr_{i}"}},
                        now=now,
                        subscription_id=sub_id,
                    )
                    if path != "/slow":
                        queued[msg.id + path] = time.monotonic()
            time.sleep(0.5)
        deadline = time.monotonic() + alerts * timeout * 3 + 30
        while len(rx.arrival) < len(queued) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        rx.done.set()
        ticker.join(timeout * 3 + 5)
        dispatcher.shutdown()
        latencies = [rx.arrival[k] - t for k, t in queued.items() if k in rx.arrival]
        missing = len(queued) - len(latencies)
        if missing:
            print(f"  ({missing} healthy deliveries not made before the deadline)")
    sender.close()
    if url:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(table))
    engine.dispose()
    tmp.cleanup()
    return latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alerts", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=2.0, help="webhook client timeout, s")
    ap.add_argument("--db", default=None, help="database URL (default: a fresh SQLite file)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)  # each /slow timeout logs a WARNING
    print(
        f"{args.alerts} alerts x 3 subscriptions (/slow hangs), client timeout "
        f"{args.timeout:g} s, db {'sqlite file' if not args.db else args.db.split('@')[-1]}"
    )
    p95s = {}
    for name, workers in (("one at a time", 0), ("per target", 8)):
        lat = sorted(run(args.db, workers, args.alerts, args.timeout))
        p95 = lat[max(0, int(round(0.95 * len(lat))) - 1)] if lat else float("inf")
        p95s[name] = p95
        print(
            f"{name:>14}: healthy latency p50 {statistics.median(lat):6.2f} s  "
            f"p95 {p95:6.2f} s  max {lat[-1]:6.2f} s  (n={len(lat)})  "
            f"limit p95 <= {LIMIT_P95:g} s: {'ok' if p95 <= LIMIT_P95 else 'OVER'}"
        )
    print(f"p95 ratio one-at-a-time / per-target: {p95s['one at a time'] / p95s['per target']:.1f}")


if __name__ == "__main__":
    main()
