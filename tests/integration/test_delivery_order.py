"""Issue #20, delivery under trouble (found by an outside probe with kill -9 and
faulty fakes): the Slack message must end showing the alert's current state; each
target gets one alert's events in order; a hanging target holds up only itself; a
dead worker's claims are free again within seconds.

Real commits (SQLite file, and PostgreSQL when GROUNDSWELL_TEST_POSTGRES_URL is
set), real HTTP to the local fakes (tests/fakes)."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.clock import FrozenClock
from app.core.channels import parse_spec
from app.db.repos import alerts as alerts_repo
from app.db.repos import outbox as outbox_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, OutboxMessage
from app.jobs import tasks
from app.jobs.scheduler import Jobs
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.runtime import Runtime
from app.services import alerts as alert_service
from app.services import subscriptions as sub_service
from app.services import watches as watch_service
from app.services.delivery import LEASE, Claim, DrainResult, drain_outbox, send_claimed
from app.services.dispatch import Dispatcher
from app.services.outbound import SlackTarget, enqueue_event
from tests.builders import an_open_alert
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
SLACK_OFF = SlackTarget(enabled=False, default_channel=None)
EVENTS = ["alert.opened", "alert.acknowledged", "alert.updated", "alert.resolved"]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


class HangingReceiver(WebhookReceiver):
    """A receiver whose paths in `hang` do not answer until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.hang: set[str] = set()
        self.release = threading.Event()
        self.arrived: list[str] = []  # every request's path, as it arrives

    def handle(self, path, headers, body):
        with self._lock:
            self.arrived.append(path)
        if path in self.hang:
            self.release.wait(30)
        return super().handle(path, headers, body)


def _watch(factory, clock) -> str:
    with unit_of_work(factory) as s:
        spec = watch_service.WatchSpec("Metro Police", ["metro police"], [])
        return watch_service.create(s, spec, clock.now(), check_channel=parse_spec).id


def _subscribe(factory, clock, rx, path: str) -> str:
    with unit_of_work(factory) as s:
        sub = sub_service.create(
            s, url=rx.url_for(path), events=EVENTS, now=clock.now(), allow_private=True
        )
        rx.set_secret(sub.secret, path=path)
        return sub.id


KINDS = ["negative_surge", "parody_surge", "volume_surge"]


def _open(
    factory, clock, wid: str, alert_id: str, slack: SlackTarget = SLACK, kind: str = KINDS[0]
) -> None:
    with unit_of_work(factory) as s:
        alert = an_open_alert(alert_id, wid, clock.now())
        alert.kind = kind  # one open alert per kind and watch
        s.add(alert)
        s.flush()
        enqueue_event(
            s,
            alert=alerts_repo.snapshot(s.get(Alert, alert_id), "Metro Police"),
            event_type="alert.opened",
            now=clock.now(),
            slack=slack,
            watch_slack_channel=None,
        )


def _notifier(fake: FakeSlack) -> SlackNotifier:
    return SlackNotifier(token="xoxb-test", base_url=fake.base_url)


def _drain(factory, clock, slack=None):
    return drain_outbox(
        factory,
        clock=clock,
        slack=_notifier(slack) if slack else None,
        webhooks=WebhookSender(allow_private=True),
    )


def _text(fake: FakeSlack) -> str:
    (message,) = fake.messages().values()
    return str(message["text"])


# 1. The Slack message ends showing the current state ---------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 500, "error": "internal_error"},
        {"status": 429, "error": "ratelimited", "retry_after": 3},
    ],
    ids=["500", "ratelimited"],
)
def test_a_failed_acknowledged_edit_retried_after_the_resolution_leaves_it_resolved(
    live_factory, clock, failure
):
    factory = live_factory
    with FakeSlack() as fake:
        wid = _watch(factory, clock)
        _open(factory, clock, wid, "alr_1")
        assert _drain(factory, clock, fake).sent == 1  # the post
        clock.advance(timedelta(minutes=1))
        with unit_of_work(factory) as s:
            alert_service.acknowledge(s, alert_id="alr_1", by="sam", now=clock.now(), slack=SLACK)
        fake.fail_next("chat.update", **failure)  # the acknowledged edit fails once
        clock.advance(timedelta(seconds=1))
        with unit_of_work(factory) as s:
            alert_service.resolve(s, alert_id="alr_1", by="kim", now=clock.now(), slack=SLACK)
        _drain(factory, clock, fake)
        for _ in range(3):  # the retry comes due (and anything after it)
            clock.advance(timedelta(seconds=30))
            _drain(factory, clock, fake)
        with unit_of_work(factory) as s:
            states = set(s.scalars(select(OutboxMessage.state)))
        assert states == {"sent"}
        assert "resolved" in _text(fake), _text(fake)
        updates = fake.calls("chat.update")
        assert [u.ok for u in updates][0] is False and "resolved" in updates[-1].payload["text"]


def test_an_edit_that_goes_out_late_shows_the_alert_as_it_is_now(live_factory, clock):
    """The acknowledged row, sent after the alert was resolved, renders the alert's
    current row, not the snapshot queued with it (so even an edit that overtakes a
    later one cannot leave the message stale)."""
    factory = live_factory
    with FakeSlack() as fake:
        wid = _watch(factory, clock)
        _open(factory, clock, wid, "alr_1")
        _drain(factory, clock, fake)
        with unit_of_work(factory) as s:
            alert_service.acknowledge(s, alert_id="alr_1", by="sam", now=clock.now(), slack=SLACK)
        with unit_of_work(factory) as s:  # resolved with no notice queued (e.g. lost)
            alert = s.get(Alert, "alr_1")
            alert.state, alert.resolved_by, alert.resolved_at = "resolved", "kim", clock.now()
        assert _drain(factory, clock, fake).sent == 1
        (update,) = fake.calls("chat.update")
        assert "resolved" in update.payload["text"] and "resolved" in _text(fake)


# 2. Per-target order ------------------------------------------------------------------


def _resolve(factory, clock, alert_id: str) -> None:
    with unit_of_work(factory) as s:
        alert_service.resolve(s, alert_id=alert_id, by="kim", now=clock.now(), slack=SLACK_OFF)


def _types(rx, path: str = "/hook") -> list[str]:
    return [e.payload["type"] for e in rx.delivered if e.path == path]


def test_a_retried_opened_event_still_reaches_the_receiver_before_resolved(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/hook")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        rx.respond_next(500)  # alert.opened will retry
        assert _drain(factory, clock).retried == 1
        clock.advance(timedelta(seconds=1))
        _resolve(factory, clock, "alr_1")
        assert _drain(factory, clock).sent == 0  # resolved waits for opened
        clock.advance(timedelta(minutes=1))
        assert _drain(factory, clock).sent == 2
        assert _types(rx) == ["alert.opened", "alert.resolved"]
        ids = [e.msg_id for e in rx.events if e.payload["type"] == "alert.opened"]
        assert len(ids) == 2 and ids[0] == ids[1]  # one event, one webhook-id


def test_after_a_crash_a_later_event_does_not_overtake_the_claimed_one(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/hook")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        with unit_of_work(factory) as s:  # a worker claims alert.opened and dies
            assert len(outbox_repo.claim_due(s, clock.now(), LEASE)) == 1
        clock.advance(timedelta(seconds=1))
        _resolve(factory, clock, "alr_1")
        assert _drain(factory, clock).sent == 0  # not before the claimed one
        clock.advance(LEASE)
        assert _drain(factory, clock).sent == 2
        assert _types(rx) == ["alert.opened", "alert.resolved"]


def test_a_dead_event_no_longer_holds_the_later_ones_back(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/hook")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        rx.respond_next(400)  # permanent: alert.opened goes dead
        assert _drain(factory, clock).dead == 1
        _resolve(factory, clock, "alr_1")
        assert _drain(factory, clock).sent == 1
        assert _types(rx) == ["alert.resolved"]


def test_order_is_per_target_a_failing_subscriber_does_not_hold_back_another(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/a")
        _subscribe(factory, clock, rx, "/b")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        rx.respond_next(500)  # the first delivery (to /a or /b) will retry
        _drain(factory, clock)
        clock.advance(timedelta(seconds=1))
        _resolve(factory, clock, "alr_1")
        _drain(factory, clock)
        got = {p: _types(rx, p) for p in ("/a", "/b")}
        assert sorted(got.values()) == [[], ["alert.opened", "alert.resolved"]], got


# 3. One hanging target delays only itself ---------------------------------------------


def test_a_hanging_subscriber_does_not_delay_a_healthy_one(live_factory, clock):
    """Under the scheduler (a thread calling the deliver job every 0.1 s, as the
    1-second interval job does): while every request to /slow hangs, /fast gets
    all its events. Before, the outbox was drained one message at a time and /fast
    waited behind each of /slow's timeouts."""
    factory = live_factory
    with HangingReceiver() as rx:
        rx.hang.add("/slow")
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/slow")
        _subscribe(factory, clock, rx, "/fast")
        for i in range(3):
            _open(factory, clock, wid, f"alr_{i}", SLACK_OFF, KINDS[i])
            clock.advance(timedelta(seconds=1))
        runtime = Runtime(
            make_settings(),
            factory.kw["bind"],
            factory,
            clock,
            KeywordClassifier(),
            None,
            WebhookSender(allow_private=True),
            jobs=Jobs(),  # not started: this test is the scheduler
        )
        stop = threading.Event()

        def scheduler() -> None:
            while not stop.is_set():
                tasks.deliver(runtime)
                stop.wait(0.1)

        ticker = threading.Thread(target=scheduler, daemon=True)
        ticker.start()
        try:
            rx.wait_for(3, timeout=5)  # the fast ones (the slow one has not answered)
            assert _types(rx, "/fast") == ["alert.opened"] * 3
            assert rx.arrived.count("/slow") == 1  # one in flight, the rest wait behind it
        finally:
            rx.release.set()
            deadline = time.monotonic() + 10
            while len(rx.delivered) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            stop.set()
            ticker.join(5)
            runtime.delivery.shutdown()
        assert _types(rx, "/slow") == ["alert.opened"] * 3
        ids = [e.msg_id for e in rx.events]
        assert len(ids) == len(set(ids)) == 6  # each event once, under its own id


def test_a_busy_targets_backlog_does_not_hide_the_other_targets(live_factory, clock):
    """The targets to start are chosen in the database, leaving out the busy ones: a
    backlog of older messages for a hanging target cannot crowd the others out."""
    factory = live_factory
    with WebhookReceiver() as rx:
        slow = _subscribe(factory, clock, rx, "/slow")
        with unit_of_work(factory) as s:
            for i in range(120):  # 120 alerts' events for /slow, all older
                outbox_repo.enqueue(
                    s,
                    alert_id=f"alr_{i}",
                    target="webhook",
                    event_type="alert.opened",
                    payload={},
                    now=clock.now(),
                    subscription_id=slow,
                )
        clock.advance(timedelta(seconds=1))
        fast = _subscribe(factory, clock, rx, "/fast")
        with unit_of_work(factory) as s:
            outbox_repo.enqueue(
                s,
                alert_id="alr_x",
                target="webhook",
                event_type="alert.opened",
                payload={},
                now=clock.now(),
                subscription_id=fast,
            )
        with unit_of_work(factory) as s:
            assert outbox_repo.due_targets(s, clock.now(), limit=8) == [
                f"sub:{slow}",
                f"sub:{fast}",
            ]
            busy = frozenset({f"sub:{slow}"})
            assert outbox_repo.due_targets(s, clock.now(), limit=8, skip=busy) == [f"sub:{fast}"]


# 4. A dead worker's claims are free again within seconds ---------------------------


def test_a_dead_workers_claim_is_sent_by_another_within_seconds(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/hook")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        with unit_of_work(factory) as s:
            assert len(outbox_repo.claim_due(s, clock.now(), LEASE)) == 1  # then kill -9
        assert _drain(factory, clock).sent == 0
        clock.advance(timedelta(seconds=20))
        assert _drain(factory, clock).sent == 1
        assert _types(rx) == ["alert.opened"]


def test_a_lease_taken_over_is_not_sent_again_by_the_stalled_worker(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/hook")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        now = clock.now()
        with unit_of_work(factory) as s:  # worker A claims it, then stalls past its lease
            ((msg_id, key),) = outbox_repo.claim_due_by_target(s, now, LEASE)
        clock.advance(LEASE + timedelta(seconds=1))
        assert _drain(factory, clock).sent == 1  # worker B takes it over
        result = DrainResult()
        hooks = WebhookSender(allow_private=True)
        claim = Claim(msg_id, key, now + LEASE)
        send_claimed(factory, claim, clock, None, hooks, random.Random(), result)
        assert result.sent == 0 and len(rx.events) == 1


def test_a_send_longer_than_the_lease_is_kept_by_the_heartbeat(live_factory, clock):
    """A send that outlasts the lease (a slow receiver, just under the client's
    timeout) keeps its claim: each tick renews the leases of messages in flight, so
    another instance does not send it a second time."""
    factory = live_factory
    with HangingReceiver() as rx:
        rx.hang.add("/hook")
        wid = _watch(factory, clock)
        _subscribe(factory, clock, rx, "/hook")
        _open(factory, clock, wid, "alr_1", SLACK_OFF)
        hooks = WebhookSender(allow_private=True)
        mine = Dispatcher(factory, clock=clock, slack=None, webhooks=hooks, workers=2)
        try:
            mine.tick()
            deadline = time.monotonic() + 5
            while not rx.arrived and time.monotonic() < deadline:
                time.sleep(0.02)
            assert rx.arrived == ["/hook"]  # in flight, hanging
            for _ in range(6):  # two leases go by while it hangs
                clock.advance(LEASE / 3)
                mine.tick()
            other = _drain(factory, clock)  # another instance
            assert (other.sent, other.retried) == (0, 0)
        finally:
            rx.release.set()
            mine.shutdown()
        assert len(rx.events) == 1
        with unit_of_work(factory) as s:
            assert s.scalars(select(OutboxMessage.state)).all() == ["sent"]


def test_a_released_claim_is_due_again_at_once(live_factory, clock):
    """What the dispatcher does at shutdown with claims it has not started."""
    factory = live_factory
    wid = _watch(factory, clock)
    with WebhookReceiver() as rx:
        _subscribe(factory, clock, rx, "/hook")
    _open(factory, clock, wid, "alr_1", SLACK_OFF)
    now = clock.now()
    with unit_of_work(factory) as s:
        ((msg_id, _),) = outbox_repo.claim_due_by_target(s, now, LEASE)
    with unit_of_work(factory) as s:
        assert outbox_repo.claim_due(s, now, LEASE) == []
        assert outbox_repo.release(s, {msg_id: now + LEASE}) == 1
    with unit_of_work(factory) as s:
        assert outbox_repo.claim_due(s, now, LEASE) == [msg_id]
