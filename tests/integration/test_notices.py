"""Alert notices that must still arrive: after a failed first Slack post, and after
Slack was switched on. Real DB, real HTTP to fakes."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.model import Severity
from app.db.repos import outbox as outbox_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, OutboxMessage, SlackMessageRef, Watch
from app.notify.slack import SlackNotifier
from app.notify.slack_blocks import SEVERITY_EMOJI
from app.notify.webhooks import WebhookSender
from app.services import alerts as alert_service
from app.services import watches as watch_service
from app.services.delivery import drain_outbox
from app.services.outbound import SlackTarget, enqueue_event
from tests.builders import an_open_alert
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
SLACK_OFF = SlackTarget(enabled=False, default_channel=None)


@pytest.fixture
def fakes():
    with FakeSlack() as slack, WebhookReceiver() as hooks:
        yield slack, hooks


def _drain(factory, clock, slack):
    return drain_outbox(
        factory,
        clock=clock,
        slack=SlackNotifier(token="xoxb-test", base_url=slack.base_url),
        webhooks=WebhookSender(allow_private=True),
    )


def _alert(factory, clock, alert_id="alr_1", kind="negative_surge", slack=SLACK) -> str:
    """A watch with one open alert whose alert.opened is queued; returns the watch id."""
    with unit_of_work(factory) as s:
        wid = s.scalar(select(Watch.id).where(Watch.name == "Metro Police"))
        if wid is None:
            spec = watch_service.WatchSpec("Metro Police", ["metro police"], [])
            wid = watch_service.create(s, spec, clock.now()).id
        alert = an_open_alert(alert_id, wid, clock.now())
        alert.kind = kind
        s.add(alert)
        s.flush()
        _enqueue(s, alert, "alert.opened", clock, slack)
    return wid


def _enqueue(s, alert, event_type, clock, slack=SLACK):
    enqueue_event(
        s,
        alert=alert_service.alerts_repo.snapshot_of(s, alert),
        event_type=event_type,
        now=clock.now(),
        slack=slack,
        watch_slack_channel=None,
    )


def _errors(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_after_a_failed_first_post_an_escalation_posts_afresh_and_later_changes_edit_it(
    session_factory, clock, fakes, caplog
):
    slack, _ = fakes
    _alert(session_factory, clock)
    slack.fail_next("chat.postMessage", error="channel_not_found")  # permanent
    assert _drain(session_factory, clock, slack).dead == 1

    clock.advance(timedelta(minutes=5))
    with unit_of_work(session_factory) as s:
        alert = s.get(Alert, "alr_1")
        alert.severity, alert.updated_at = "critical", clock.now()
        _enqueue(s, alert, "alert.updated", clock)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert _drain(session_factory, clock, slack).sent == 1
    posts = slack.calls("chat.postMessage")
    assert [c.ok for c in posts] == [False, True]
    header = posts[-1].payload["blocks"][0]["text"]["text"]  # the current state: critical
    assert header.startswith(SEVERITY_EMOJI[Severity.CRITICAL]), header
    assert _errors(caplog) == []

    clock.advance(timedelta(minutes=1))
    with unit_of_work(session_factory) as s:
        alert_service.acknowledge(s, alert_id="alr_1", by="sam", now=clock.now(), slack=SLACK)
    assert _drain(session_factory, clock, slack).sent == 1
    ts = posts[-1].response["ts"]
    updates = slack.calls("chat.update")
    assert [(u.ok, u.payload["ts"]) for u in updates] == [(True, ts)]
    assert len(slack.calls("chat.postMessage")) == 2  # edited in place, not posted again
    assert "acknowledged" in slack.messages()[(posts[-1].response["channel"], ts)]["text"]


def test_an_alert_opened_while_slack_was_off_is_posted_when_first_changed_after(
    session_factory, clock, fakes, caplog
):
    slack, _ = fakes
    _alert(session_factory, clock, slack=SLACK_OFF)  # no Slack row queued
    assert _drain(session_factory, clock, slack).sent == 0
    with unit_of_work(session_factory) as s:
        alert_service.acknowledge(s, alert_id="alr_1", by="sam", now=clock.now(), slack=SLACK)
    with caplog.at_level(logging.INFO):
        assert _drain(session_factory, clock, slack).sent == 1
    assert _errors(caplog) == []
    (post,) = slack.calls("chat.postMessage")
    assert post.ok and "acknowledged" in post.payload["text"]
    with unit_of_work(session_factory) as s:
        assert s.get(SlackMessageRef, "alr_1").ts == post.response["ts"]


def test_an_update_waits_for_the_pending_first_post_and_then_edits_it(
    session_factory, clock, fakes
):
    slack, _ = fakes
    _alert(session_factory, clock)
    slack.fail_next("chat.postMessage", error="ratelimited", retry_after=30)  # will retry
    with unit_of_work(session_factory) as s:
        _enqueue(s, s.get(Alert, "alr_1"), "alert.updated", clock)  # same instant
    result = _drain(session_factory, clock, slack)
    assert (result.sent, result.retried, result.dead) == (0, 1, 0)
    assert len(slack.calls("chat.postMessage")) == 1  # the update did not post its own

    clock.advance(timedelta(seconds=40))
    assert _drain(session_factory, clock, slack).sent == 2
    posts = [c for c in slack.calls("chat.postMessage") if c.ok]
    updates = slack.calls("chat.update")
    assert len(posts) == 1 and [u.payload["ts"] for u in updates] == [posts[0].response["ts"]]


def test_of_two_messages_made_at_the_same_instant_exactly_one_goes_first(session_factory, clock):
    _alert(session_factory, clock)
    with unit_of_work(session_factory) as s:
        _enqueue(s, s.get(Alert, "alr_1"), "alert.updated", clock)
    with unit_of_work(session_factory) as s:
        msgs = list(s.scalars(select(OutboxMessage).where(OutboxMessage.target == "slack")))
        assert len(msgs) == 2 and msgs[0].created_at == msgs[1].created_at
        assert sorted(outbox_repo.earlier_pending(s, m) for m in msgs) == [False, True]
