"""Delivery through kill -9: lost, duplicated, out of order, stale Slack messages, latency.

    python bench/delivery_crash.py [--alerts 40] [--kills 6] [--db postgresql+psycopg://...]

A bounded version of issue #20's probe. A worker process (this file with --worker:
the dispatcher's tick every second, as the scheduler calls it) delivers to three
webhook subscriptions on the local fake receiver (10 % of requests answered 500)
and to the local fake Slack (an edit fails with 500 or `ratelimited` every couple
of seconds). Meanwhile this process opens, acknowledges and resolves `--alerts`
alerts (one watch each) on the same database, and SIGKILLs the worker `--kills`
times at random moments, restarting it at once. At the end it prints:

- lost: webhook events neither delivered nor pending (expected: alerts x 3 events x
  3 subscriptions); "still pending" are those whose next retry (the Svix schedule's
  5 minutes after a second failure) is after the run's end, and the events of the
  same alert and subscription waiting behind them;
- duplicated as new: events delivered under more than one webhook-id (must be 0);
- repeats: deliveries of an event beyond the first, same webhook-id (at-least-once);
- out of order: (alert, subscription) pairs whose events first arrived out of
  opened < acknowledged < resolved order;
- stale Slack: alerts whose Slack message does not end showing "resolved";
- latency (event queued -> first delivery) p50 / p95 / max, healthy deliveries and
  those that met a kill alike; the max is bounded by the lease (15 s) plus retries.
The issue's targets: 0 lost, 0 duplicated as new, 0 out of order, 0 stale.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import delete, func, select  # noqa: E402

from app.clock import SystemClock  # noqa: E402
from app.core.channels import parse_spec  # noqa: E402
from app.db.base import Base  # noqa: E402
from app.db.migrate import upgrade_head  # noqa: E402
from app.db.repos import alerts as alerts_repo  # noqa: E402
from app.db.session import make_engine, make_session_factory, unit_of_work  # noqa: E402
from app.db.tables import Alert, OutboxMessage  # noqa: E402
from app.notify.slack import SlackNotifier  # noqa: E402
from app.notify.webhooks import WebhookSender  # noqa: E402
from app.services import alerts as alert_service  # noqa: E402
from app.services import subscriptions as sub_service  # noqa: E402
from app.services import watches as watch_service  # noqa: E402
from app.services.dispatch import Dispatcher  # noqa: E402
from app.services.outbound import SlackTarget, enqueue_event  # noqa: E402
from tests.builders import an_open_alert  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.fakes.webhook_receiver import WebhookReceiver  # noqa: E402

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
EVENTS = ["alert.opened", "alert.acknowledged", "alert.resolved"]
PATHS = ["/s1", "/s2", "/s3"]


def worker(db: str, slack_url: str) -> None:
    """The delivery side of the service: tick every second until killed."""
    logging.basicConfig(level=logging.ERROR)
    engine = make_engine(db)
    factory = make_session_factory(engine)
    dispatcher = Dispatcher(
        factory,
        clock=SystemClock(),
        slack=SlackNotifier(token="xoxb-bench", base_url=slack_url),
        webhooks=WebhookSender(allow_private=True),
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        while True:
            dispatcher.tick()
            time.sleep(1.0)
    finally:
        dispatcher.shutdown()


class FlakyReceiver(WebhookReceiver):
    def __init__(self, rng: random.Random) -> None:
        super().__init__()
        self.rng = rng
        self.first: dict[tuple[str, str, str], float] = {}  # (alert, path, type) -> time
        self.ids: dict[tuple[str, str, str], set[str]] = defaultdict(set)
        self.count: dict[tuple[str, str, str], int] = defaultdict(int)
        self.order: dict[tuple[str, str], list[str]] = defaultdict(list)

    def handle(self, path, headers, body):
        with self._lock:
            flaky = self.rng.random() < 0.10
        if flaky:
            return 500, {}
        status, extra = super().handle(path, headers, body)
        if status < 300:
            payload = json.loads(body)
            key = (payload["data"]["id"], path, payload["type"])
            with self._lock:
                self.count[key] += 1
                self.ids[key].add(headers.get("webhook-id", ""))
                if key not in self.first:
                    self.first[key] = time.monotonic()
                    self.order[(key[0], path)].append(key[2])
        return status, extra


def run(db: str | None, alerts: int, kills: int, seed: int) -> None:
    rng = random.Random(seed)
    tmp = tempfile.TemporaryDirectory()
    url = db or f"sqlite:///{tmp.name}/bench.db"
    engine = make_engine(url)
    upgrade_head(engine)
    factory = make_session_factory(engine)
    clock = SystemClock()
    queued: dict[tuple[str, str, str], float] = {}
    with FlakyReceiver(rng) as rx, FakeSlack() as slack:
        path_of: dict[str, str] = {}
        with unit_of_work(factory) as s:
            for path in PATHS:
                sub = sub_service.create(
                    s, url=rx.url_for(path), events=EVENTS, now=clock.now(), allow_private=True
                )
                rx.set_secret(sub.secret, path=path)
                path_of[sub.id] = path
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, __file__, "--worker", "--db", url, "--slack", slack.base_url]

        def start() -> subprocess.Popen[bytes]:
            return subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)

        proc = start()
        stop = threading.Event()

        def slack_trouble() -> None:
            while not stop.wait(2.0):
                if rng.random() < 0.5:
                    slack.fail_next("chat.update", status=500, error="internal_error")
                else:
                    slack.fail_next("chat.update", status=429, error="ratelimited", retry_after=1)

        trouble = threading.Thread(target=slack_trouble, daemon=True)
        trouble.start()

        def queue(alert_id: str, event: str) -> None:
            for path in PATHS:
                queued[(alert_id, path, event)] = time.monotonic()

        # A timeline: each alert opens, is acknowledged 0.5-1.5 s later and resolved
        # 0.3-1.5 s after that; a new alert every 0.4 s; kills at random moments.
        steps: list[tuple[float, str, str]] = []
        for i in range(alerts):
            t = i * 0.4
            ack = t + rng.uniform(0.5, 1.5)
            steps += [(t, "open", f"alr_{i}"), (ack, "ack", f"alr_{i}")]
            steps.append((ack + rng.uniform(0.3, 1.5), "resolve", f"alr_{i}"))
        span = max(t for t, _, _ in steps)
        steps += [(rng.uniform(0.5, span), "kill", "") for _ in range(kills)]
        steps.sort()
        began = time.monotonic()
        for at, what, alert_id in steps:
            time.sleep(max(0.0, began + at - time.monotonic()))
            if what == "kill":
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                proc = start()
                continue
            with unit_of_work(factory) as s:
                now = clock.now()
                if what == "open":
                    spec = watch_service.WatchSpec(f"Watch {alert_id}", ["x"], [])
                    wid = watch_service.create(s, spec, now, check_channel=parse_spec).id
                    s.add(an_open_alert(alert_id, wid, now))
                    s.flush()
                    snap = alerts_repo.snapshot_of(s, s.get(Alert, alert_id))
                    enqueue_event(
                        s,
                        alert=snap,
                        event_type="alert.opened",
                        now=now,
                        slack=SLACK,
                        watch_slack_channel=None,
                    )
                elif what == "ack":
                    alert_service.acknowledge(s, alert_id=alert_id, by="sam", now=now, slack=SLACK)
                else:
                    alert_service.resolve(s, alert_id=alert_id, by="kim", now=now, slack=SLACK)
            queue(alert_id, {"open": EVENTS[0], "ack": EVENTS[1], "resolve": EVENTS[2]}[what])
        stop.set()
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with unit_of_work(factory) as s:
                pending = s.scalar(select(func.count()).where(OutboxMessage.state == "pending"))
            if not pending:
                break
            time.sleep(1.0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        with unit_of_work(factory) as s:
            rows = s.execute(
                select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
            )
            states = {state: n for state, n in rows}
            pending_rows = s.execute(
                select(
                    OutboxMessage.alert_id, OutboxMessage.subscription_id, OutboxMessage.event_type
                ).where(OutboxMessage.state == "pending", OutboxMessage.target == "webhook")
            )
            waiting = {(a, path_of[sub], t) for a, sub, t in pending_rows}
        lost = [k for k in queued if k not in rx.first and k not in waiting]
        dup_new = [k for k, ids in rx.ids.items() if len(ids) > 1]
        repeats = sum(n - 1 for n in rx.count.values())
        disorder = [k for k, seq in rx.order.items() if seq != sorted(seq, key=EVENTS.index)]
        texts = {str(m.get("text")) for m in slack.messages().values()}
        stale = sum(1 for t in texts if "(resolved)" not in t)
        posts = len([c for c in slack.calls("chat.postMessage") if c.ok])
        lat = sorted(rx.first[k] - t for k, t in queued.items() if k in rx.first)
    if db:
        with engine.begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(delete(table))
    engine.dispose()
    tmp.cleanup()
    p95 = lat[max(0, round(0.95 * len(lat)) - 1)]
    print(f"db {'sqlite file' if not db else db.split('@')[-1]}, {alerts} alerts, {kills} kills")
    print(f"  outbox at the end: {states}")
    print(
        f"  webhook events: expected {len(queued)}, delivered {len(rx.first)}, still pending "
        f"{len(waiting)} (a later retry, and the events behind it), lost "
        f"{len(lost)} (target 0), duplicated as new {len(dup_new)} (target 0), "
        f"repeats under the same id {repeats}"
    )
    print(
        f"  out of order (alert, subscription) pairs: {len(disorder)} of {len(rx.order)} (target 0)"
    )
    print(
        f"  Slack: {posts} messages posted for {alerts} alerts, {stale} stale at the end (target 0)"
    )
    print(
        f"  latency queued -> first delivery: p50 {statistics.median(lat):.2f} s, "
        f"p95 {p95:.2f} s, max {lat[-1]:.2f} s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--alerts", type=int, default=40)
    ap.add_argument("--kills", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20)
    ap.add_argument("--db", default=None)
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--slack", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.db, args.slack)
        return
    logging.basicConfig(level=logging.ERROR)
    run(args.db, args.alerts, args.kills, args.seed)


if __name__ == "__main__":
    main()
