"""Issue #20, webhooks: a retry schedule in the spirit of Svix's (at once, 5 s, 5 min,
30 min, 2 h, 5 h, 10 h, 10 h, then dead) with jitter, Retry-After honoured on
429/503, and every attempt recorded (time, status, error, duration), listed by
GET /api/v1/subscriptions/{id}/deliveries (paged). Real HTTP to the local fake
receiver, real database."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clock import FrozenClock
from app.db.session import unit_of_work
from app.db.tables import DeliveryAttempt, OutboxMessage
from app.notify.webhooks import WebhookSender
from app.runtime import Runtime
from app.services import subscriptions as sub_service
from app.services.delivery import MAX_ATTEMPTS, WEBHOOK_SCHEDULE, drain_outbox, retry_delay
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_delivery_order import SLACK_OFF, _open, _watch

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture
def clock() -> FrozenClock:
    """Four minutes in the past: the receiver checks signatures' timestamps against
    its own clock (5 minutes' tolerance), and a test here moves on 7.5 minutes."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=4))


SVIX = [5, 300, 1800, 7200, 18000, 36000, 36000]  # seconds, from Svix's retry docs


def test_the_webhook_schedule_is_svixs_with_jitter_then_dead():
    rng = random.Random(7)
    for failed, scheduled in enumerate(SVIX, start=1):
        waits = [retry_delay("webhook", failed, None, rng).total_seconds() for _ in range(200)]
        assert scheduled * 0.8 <= min(waits) < max(waits) <= scheduled * 1.2, (failed, waits[:3])
    assert retry_delay("webhook", len(SVIX) + 1, None, rng) is None  # the 8th failure: dead
    assert len(WEBHOOK_SCHEDULE) == len(SVIX)
    # Slack keeps its own quicker backoff (an edit five minutes late is no use).
    assert retry_delay("slack", 2, None, rng) < timedelta(seconds=13)
    assert retry_delay("slack", MAX_ATTEMPTS, None, rng) is None


def test_retry_after_is_honoured_when_it_asks_for_longer():
    rng = random.Random(1)
    assert retry_delay("webhook", 1, 120.0, rng) == timedelta(seconds=120)
    assert retry_delay("webhook", 2, 1.0, rng) >= timedelta(seconds=240)  # the schedule's


def _sub(factory, clock, rx) -> str:
    with unit_of_work(factory) as s:
        sub = sub_service.create(
            s, url=rx.url, events=["alert.opened"], now=clock.now(), allow_private=True
        )
        rx.set_secret(sub.secret)
        return sub.id


def _drain(factory, clock):
    return drain_outbox(
        factory, clock=clock, slack=None, webhooks=WebhookSender(allow_private=True)
    )


def _attempts(factory) -> list[DeliveryAttempt]:
    with unit_of_work(factory) as s:
        return list(s.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.attempt)))


def test_every_attempt_is_recorded_and_the_429s_retry_after_sets_the_next(live_factory, clock):
    factory = live_factory
    with WebhookReceiver() as rx:
        sub_id = _sub(factory, clock, rx)
        _open(factory, clock, _watch(factory, clock), "alr_1", SLACK_OFF)
        rx.respond_next(429, retry_after=90)
        t0 = clock.now()
        assert _drain(factory, clock).retried == 1
        clock.advance(timedelta(seconds=60))
        assert _drain(factory, clock).sent == 0  # Retry-After 90 s, not the schedule's 5 s
        rx.respond_next(500)
        clock.advance(timedelta(seconds=31))
        t1 = clock.now()
        assert _drain(factory, clock).retried == 1
        clock.advance(timedelta(minutes=6))  # the schedule's second wait: 5 min ± 20 %
        t2 = clock.now()
        assert _drain(factory, clock).sent == 1
    got = _attempts(factory)
    assert [(a.attempt, a.status_code, a.outcome) for a in got] == [
        (1, 429, "retried"),
        (2, 500, "retried"),
        (3, 204, "sent"),
    ]
    assert [a.attempted_at for a in got] == [t0, t1, t2]
    assert got[0].next_attempt_at == t0 + timedelta(seconds=90)
    assert t1 + timedelta(seconds=240) <= got[1].next_attempt_at <= t1 + timedelta(seconds=360)
    assert "HTTP 429" in got[0].error and "HTTP 500" in got[1].error and got[2].error is None
    assert all(a.duration_ms >= 0 and a.subscription_id == sub_id for a in got)
    assert len({a.outbox_id for a in got}) == 1  # one event, one webhook-id
    assert len({e.msg_id for e in rx.events}) == 1


def test_an_unreachable_receiver_is_recorded_without_a_status_and_goes_dead_after_eight(
    live_factory, clock
):
    factory = live_factory
    with unit_of_work(factory) as s:
        sub_service.create(
            s,
            url="http://127.0.0.1:9/x",
            events=["alert.opened"],
            now=clock.now(),
            allow_private=True,
        )
    _open(factory, clock, _watch(factory, clock), "alr_1", SLACK_OFF)
    for _ in range(10):
        _drain(factory, clock)
        clock.advance(timedelta(hours=13))
    got = _attempts(factory)
    assert [a.outcome for a in got] == ["retried"] * 7 + ["dead"]
    assert all(a.status_code is None and "connection error" in a.error for a in got)
    with unit_of_work(factory) as s:
        assert s.scalars(select(OutboxMessage.state)).all() == ["dead"]


@pytest.fixture
def client(session_factory, clock, db_engine):
    runtime = Runtime(
        settings=make_settings(bootstrap_api_key=KEY),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=WebhookSender(allow_private=True),
    )
    with TestClient(create_app(runtime, manage_runtime=False)) as c:
        yield c


def test_the_deliveries_of_a_subscription_are_listed_newest_first_in_pages(
    client, session_factory, clock
):
    with WebhookReceiver() as rx:
        sub_id = _sub(session_factory, clock, rx)
        _open(session_factory, clock, _watch(session_factory, clock), "alr_1", SLACK_OFF)
        rx.respond_next(503)
        _drain(session_factory, clock)
        clock.advance(timedelta(seconds=10))
        _drain(session_factory, clock)
    url = f"/api/v1/subscriptions/{sub_id}/deliveries"
    page1 = client.get(f"{url}?limit=1", headers=AUTH).json()
    assert [(i["attempt"], i["status_code"], i["outcome"]) for i in page1["items"]] == [
        (2, 204, "sent")
    ]
    page2 = client.get(f"{url}?limit=1&cursor={page1['next_cursor']}", headers=AUTH).json()
    (first,) = page2["items"]
    assert (first["attempt"], first["status_code"], first["outcome"]) == (1, 503, "retried")
    assert first["message_id"] == page1["items"][0]["message_id"]
    assert first["event_type"] == "alert.opened" and first["next_attempt_at"]
    assert page2["next_cursor"] is None
    assert client.get("/api/v1/subscriptions/sub_nope/deliveries", headers=AUTH).status_code == 404
    bad = client.get(f"{url}?cursor=xyz", headers=AUTH)
    assert bad.status_code == 422 and "cursor" in bad.text
