"""Alert notices that must still arrive: after a failed first Slack post, after Slack
was switched on, and after the alert's watch was deleted. Real DB, real HTTP to fakes."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from app.core.channels import parse_spec
from app.core.model import Severity
from app.db.repos import outbox as outbox_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, AlertEvent, OutboxMessage, SlackMessageRef, Watch
from app.notify.slack_blocks import SEVERITY_EMOJI
from app.services import alerts as alert_service
from app.services import subscriptions as sub_service
from app.services import watches as watch_service
from app.services.outbound import SlackTarget, enqueue_event
from app.services.retention import prune
from tests.builders import an_open_alert
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_pipeline import _drain

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
SLACK_OFF = SlackTarget(enabled=False, default_channel=None)


@pytest.fixture
def fakes():
    with FakeSlack() as slack, WebhookReceiver() as hooks:
        yield slack, hooks


def _alert(factory, clock, alert_id="alr_1", kind="negative_surge", slack=SLACK) -> str:
    """A watch with one open alert whose alert.opened is queued; returns the watch id."""
    with unit_of_work(factory) as s:
        wid = s.scalar(select(Watch.id).where(Watch.name == "Metro Police"))
        if wid is None:
            spec = watch_service.WatchSpec("Metro Police", ["metro police"], [])
            wid = watch_service.create(s, spec, clock.now(), check_channel=parse_spec).id
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


def test_deleting_a_watch_resolves_its_alerts_and_still_delivers_every_notice(
    session_factory, clock, fakes
):
    slack, hooks = fakes
    with unit_of_work(session_factory) as s:
        events = ["alert.opened", "alert.acknowledged", "alert.resolved"]
        sub = sub_service.create(
            s, url=hooks.url, events=events, now=clock.now(), allow_private=True
        )
        hooks.set_secret(sub.secret)
    wid = _alert(session_factory, clock, "alr_open")
    _alert(session_factory, clock, "alr_acked", kind="parody_surge")
    with unit_of_work(session_factory) as s:  # one resolved alert stays as it is
        done = an_open_alert("alr_done", wid, clock.now())
        done.kind, done.state, done.resolved_by = "volume_surge", "resolved", "sam"
        s.add(done)
    hooks.respond_next(500, times=2)  # both alert.opened webhooks will retry
    result = _drain(session_factory, clock, slack)
    assert (result.sent, result.retried) == (2, 2)  # the two Slack posts
    with unit_of_work(session_factory) as s:
        alert_service.acknowledge(s, alert_id="alr_acked", by="sam", now=clock.now(), slack=SLACK)

    clock.advance(timedelta(seconds=1))
    with unit_of_work(session_factory) as s:
        resolved = watch_service.delete(
            s, s.get(Watch, wid), by="bootstrap", now=clock.now(), slack=SLACK
        )
        assert resolved == 2
    with unit_of_work(session_factory) as s:  # the alerts and their history went with it
        assert s.get(Watch, wid) is None
        assert s.scalars(select(Alert.id).where(Alert.watch_id == wid)).all() == []
        assert s.scalars(select(AlertEvent)).all() == []

    clock.advance(timedelta(minutes=2))  # the retries are due too
    _drain(session_factory, clock, slack)
    with unit_of_work(session_factory) as s:
        assert set(s.scalars(select(OutboxMessage.state))) == {"sent"}
    got = {(e.payload["data"]["id"], e.payload["type"]) for e in hooks.delivered}
    assert got == {
        ("alr_open", "alert.opened"),
        ("alr_open", "alert.resolved"),
        ("alr_acked", "alert.opened"),
        ("alr_acked", "alert.acknowledged"),
        ("alr_acked", "alert.resolved"),
    }
    last = [e.payload["data"] for e in hooks.delivered if e.payload["type"] == "alert.resolved"]
    assert {(d["state"], d["resolved_by"]) for d in last} == {("resolved", "bootstrap")}
    # Slack: the two messages, edited to resolved; nothing posted anew.
    assert len(slack.calls("chat.postMessage")) == 2
    texts = [m["text"] for m in slack.messages().values()]
    assert len(texts) == 2 and all("resolved" in t for t in texts), texts

    # Nothing pending any more: retention drops the refs of the deleted alerts.
    with unit_of_work(session_factory) as s:
        assert prune(s, clock.now()).slack_refs == 2
        assert s.scalars(select(SlackMessageRef)).all() == []
