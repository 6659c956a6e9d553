"""Ingest → detect → outbox → delivery on a real database, real HTTP to local fakes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.core.channels import parse_spec
from app.core.model import AlertKind
from app.db.repos import outbox as outbox_repo
from app.db.session import unit_of_work
from app.db.tables import Alert, OutboxMessage, Post, VolumeBucket, Watch
from app.jobs import tasks
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.runtime import Runtime
from app.services import alerts as alert_service
from app.services import subscriptions as sub_service
from app.services import watches as watch_service
from app.services.delivery import LEASE, drain_outbox
from app.services.detection import detect_watch
from app.services.ingest import BatchRejected, ingest_batch
from app.services.outbound import SlackTarget
from app.services.retention import prune
from tests.builders import (
    NEGATIVE,
    ORDINARY,
    POSITIVE,
    an_open_alert,
    burst,
    history,
    raw_post,
)
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.playbook_guidance import guidance_for

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")


@pytest.fixture
def fakes():
    with FakeSlack() as slack, WebhookReceiver() as hooks:
        yield slack, hooks


def _watch(factory, clock, name="Metro Police"):
    with unit_of_work(factory) as s:
        w = watch_service.create(
            s,
            watch_service.WatchSpec(name, ["metro police"], ["@MetroPolice"]),
            clock.now(),
            check_channel=parse_spec,
        )
        return w.id


def _ingest(factory, clock, watch_id, posts, classifier):
    accepted = duplicates = 0
    for i in range(0, len(posts), 1000):
        with unit_of_work(factory) as s:
            r = ingest_batch(
                s,
                watch=s.get(Watch, watch_id),
                raw_posts=posts[i : i + 1000],
                classifier=classifier,
                now=clock.now(),
            )
            accepted += r.accepted
            duplicates += r.duplicates
    return accepted, duplicates


def _detect(factory, clock, watch_id):
    with unit_of_work(factory) as s:
        return detect_watch(s, watch_id=watch_id, now=clock.now(), slack=SLACK)


def _drain(factory, clock, slack):
    return drain_outbox(
        factory,
        clock=clock,
        slack=SlackNotifier(token="xoxb-test", base_url=slack.base_url),
        webhooks=WebhookSender(allow_private=True),
    )


def _runtime(factory, clock, engine):
    """A scheduler-less runtime over the test database (no Slack)."""
    return Runtime(
        make_settings(),
        engine,
        factory,
        clock,
        KeywordClassifier(),
        None,
        WebhookSender(allow_private=True),
    )


def _surge_after_history(factory, clock, texts, n):
    """A watch with 8 days of ordinary traffic, then a burst of `n` posts: (watch id,
    the outcome of the detection pass right after the burst)."""
    wid = _watch(factory, clock)
    _ingest(factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(factory, clock, wid, burst(clock.now(), n, texts, "burst"), KeywordClassifier())
    return wid, _detect(factory, clock, wid)


def test_ingest_is_idempotent_and_counts_by_event_time(session_factory, clock):
    wid = _watch(session_factory, clock)
    posts = [
        raw_post(f"p{i}", "hello metro police", clock.now() - timedelta(minutes=i))
        for i in range(10)
    ]
    assert _ingest(session_factory, clock, wid, posts, KeywordClassifier()) == (10, 0)
    assert _ingest(session_factory, clock, wid, posts + posts[:2], KeywordClassifier()) == (0, 12)
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 10
        assert s.scalar(select(func.sum(VolumeBucket.total))) == 10


def test_malformed_item_refuses_the_whole_batch(session_factory, clock):
    wid = _watch(session_factory, clock)
    posts = [raw_post("ok", "fine", clock.now()), raw_post("bad", "   ", clock.now())]
    with pytest.raises(BatchRejected) as info:
        _ingest(session_factory, clock, wid, posts, KeywordClassifier())
    assert (info.value.index, info.value.field) == (1, "text")
    with unit_of_work(session_factory) as s:
        assert s.scalar(select(func.count()).select_from(Post)) == 0


def test_negative_surge_alerts_once_and_ack_updates_the_same_message(session_factory, clock, fakes):
    slack, hooks = fakes
    wid = _watch(session_factory, clock)
    with unit_of_work(session_factory) as s:
        sub = sub_service.create(
            s,
            url=hooks.url,
            events=["alert.opened", "alert.acknowledged"],
            now=clock.now(),
            allow_private=True,
        )
        hooks.set_secret(sub.secret)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    outcome = _detect(session_factory, clock, wid)
    assert outcome.queued == 0, outcome
    assert _drain(session_factory, clock, slack).sent == 0

    clock.advance(timedelta(minutes=1))
    _ingest(
        session_factory, clock, wid, burst(clock.now(), 60, NEGATIVE, "neg"), KeywordClassifier()
    )
    outcome = _detect(session_factory, clock, wid)
    assert "negative_surge" in outcome.spikes
    result = _drain(session_factory, clock, slack)
    assert result.sent == 2, result
    assert len(slack.calls("chat.postMessage")) == 1
    assert [e.payload["type"] for e in hooks.delivered] == ["alert.opened"]
    assert hooks.delivered[0].payload["data"]["kind"] == "negative_surge"

    # A still-running surge updates the same alert instead of opening another.
    clock.advance(timedelta(seconds=30))
    _detect(session_factory, clock, wid)
    with unit_of_work(session_factory) as s:
        alerts = list(s.scalars(select(Alert).where(Alert.watch_id == wid)))
    assert [a.kind for a in alerts] == ["negative_surge"]
    assert _drain(session_factory, clock, slack).sent == 0  # nothing new to say

    with unit_of_work(session_factory) as s:
        alert_service.acknowledge(s, alert_id=alerts[0].id, by="sam", now=clock.now(), slack=SLACK)
    assert _drain(session_factory, clock, slack).sent == 2
    post_ts = slack.calls("chat.postMessage")[0].response["ts"]
    updates = slack.calls("chat.update")
    assert len(updates) == 1 and updates[0].payload["ts"] == post_ts
    assert [e.payload["type"] for e in hooks.delivered] == ["alert.opened", "alert.acknowledged"]
    # Drained twice sends nothing twice.
    assert _drain(session_factory, clock, slack).sent == 0


def test_guidance_numbers_follow_the_evidence_into_the_update(session_factory, clock, fakes):
    slack, hooks = fakes
    with unit_of_work(session_factory) as s:
        sub_service.create(
            s, url=hooks.url, events=["alert.updated"], now=clock.now(), allow_private=True
        )

    def alert():
        with unit_of_work(session_factory) as s:
            return s.scalar(select(Alert).where(Alert.watch_id == wid))

    wid, _ = _surge_after_history(session_factory, clock, NEGATIVE, 60)
    opened = alert().guidance["headline"]
    _drain(session_factory, clock, slack)
    clock.advance(timedelta(minutes=4))  # a quiet touch refreshes the stored guidance too
    _ingest(session_factory, clock, wid, burst(clock.now(), 90, NEGATIVE, "t"), KeywordClassifier())
    assert _detect(session_factory, clock, wid).actions == {"negative_surge": "touch:still_running"}
    touched = alert()
    assert touched.guidance == guidance_for(
        AlertKind.NEGATIVE_SURGE, touched.evidence, touched.severity, "Metro Police"
    )
    assert touched.guidance["headline"] != opened

    clock.advance(timedelta(minutes=12))
    _ingest(
        session_factory, clock, wid, burst(clock.now(), 600, NEGATIVE, "g"), KeywordClassifier()
    )
    assert _detect(session_factory, clock, wid).actions == {"negative_surge": "update:grew"}
    with unit_of_work(session_factory) as s:
        (hook,) = s.scalars(select(OutboxMessage).where(OutboxMessage.target == "webhook"))
        data = hook.payload["data"]  # the webhook alert.updated, as it will be sent
    headline, ev = data["guidance"]["headline"], data["evidence"]
    assert f"({round(ev['observed'])} vs about " in headline, (headline, ev["observed"])
    assert headline == guidance_for(AlertKind.NEGATIVE_SURGE, ev, data["severity"])["headline"]
    assert headline == alert().guidance["headline"] != touched.guidance["headline"]
    _drain(session_factory, clock, slack)  # (the webhook's signature is too far ahead to pass)
    (update,) = slack.calls("chat.update")
    assert update.ok and headline in json.dumps(update.payload["blocks"], ensure_ascii=False)


def test_a_negative_surge_resolves_after_two_quiet_hours_not_twelve(session_factory, clock):
    wid, outcome = _surge_after_history(session_factory, clock, NEGATIVE, 60)
    assert "negative_surge" in outcome.spikes

    def state_after(minutes: int) -> str:
        for step in range(minutes // 5):
            clock.advance(timedelta(minutes=5))
            calm = [
                raw_post(f"calm{minutes}-{step}-{i}", ORDINARY[i], clock.now()) for i in range(2)
            ]
            _ingest(session_factory, clock, wid, calm, KeywordClassifier())
            _detect(session_factory, clock, wid)
        with unit_of_work(session_factory) as s:
            return s.scalar(select(Alert.state).where(Alert.watch_id == wid))

    # The 30-minute share window keeps the surge active for half an hour more.
    assert state_after(60) == "open"  # the mix has been normal for half an hour only
    assert state_after(120) == "resolved"  # normal for 2.5 hours: the crisis is over


def test_resolving_a_running_surge_does_not_reopen_it_until_it_is_over_or_grows(
    session_factory, clock
):
    wid, _ = _surge_after_history(session_factory, clock, NEGATIVE, 60)
    with unit_of_work(session_factory) as s:
        first = s.scalar(select(Alert).where(Alert.watch_id == wid))
        alert_service.resolve(s, alert_id=first.id, by="sam", now=clock.now(), slack=SLACK)

    def alerts() -> list[tuple[str, str]]:
        with unit_of_work(session_factory) as s:
            rows = s.scalars(select(Alert).where(Alert.watch_id == wid).order_by(Alert.opened_at))
            return [(a.kind, a.state) for a in rows]

    # The same wave, still in the detector's window: sam said it is handled.
    clock.advance(timedelta(seconds=30))
    outcome = _detect(session_factory, clock, wid)
    assert "negative_surge" in outcome.spikes
    assert outcome.actions.get("negative_surge") == "none:resolved_by_person"
    assert alerts() == [("negative_surge", "resolved")]

    # It grows to three times what sam saw: that is news, a new alert opens.
    clock.advance(timedelta(seconds=30))
    _ingest(
        session_factory, clock, wid, burst(clock.now(), 150, NEGATIVE, "neg2"), KeywordClassifier()
    )
    _detect(session_factory, clock, wid)
    assert alerts() == [("negative_surge", "resolved"), ("negative_surge", "open")]


def test_positive_surge_raises_no_crisis_alert(session_factory, clock):
    wid, outcome = _surge_after_history(session_factory, clock, POSITIVE, 80)
    assert "negative_surge" not in outcome.spikes
    assert "parody_surge" not in outcome.spikes
    with unit_of_work(session_factory) as s:
        kinds = set(s.scalars(select(Alert.kind).where(Alert.watch_id == wid)))
    assert not kinds & {AlertKind.NEGATIVE_SURGE.value, AlertKind.PARODY_SURGE.value}


def test_failed_webhook_retries_with_the_same_id(session_factory, clock, fakes):
    slack, hooks = fakes
    wid = _watch(session_factory, clock)
    with unit_of_work(session_factory) as s:
        sub = sub_service.create(
            s, url=hooks.url, events=["alert.opened"], now=clock.now(), allow_private=True
        )
        hooks.set_secret(sub.secret)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(session_factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(
        session_factory, clock, wid, burst(clock.now(), 60, NEGATIVE, "neg"), KeywordClassifier()
    )
    _detect(session_factory, clock, wid)
    hooks.respond_next(500)
    first = _drain(session_factory, clock, slack)
    assert (first.sent, first.retried) == (1, 1)  # Slack went, the webhook will retry
    assert _drain(session_factory, clock, slack).sent == 0  # not due yet
    clock.advance(timedelta(minutes=2))
    assert _drain(session_factory, clock, slack).sent == 1
    ids = [e.msg_id for e in hooks.events]
    assert len(ids) == 2 and ids[0] == ids[1]
    with unit_of_work(session_factory) as s:
        states = set(s.scalars(select(OutboxMessage.state)))
    assert states == {"sent"}


def test_retention_keeps_the_baseline_window(session_factory, clock):
    wid = _watch(session_factory, clock)
    old = [raw_post("old", "metro police", clock.now() - timedelta(days=40))]
    recent = [raw_post("new", "metro police", clock.now() - timedelta(days=20))]
    _ingest(session_factory, clock, wid, old + recent, KeywordClassifier())
    with unit_of_work(session_factory) as s:
        pruned = prune(s, clock.now())
    assert (pruned.posts, pruned.buckets) == (1, 1)
    with unit_of_work(session_factory) as s:
        assert list(s.scalars(select(Post.external_id))) == ["new"]


def test_silence_alerts_only_when_nothing_arrives(session_factory, clock):
    wid = _watch(session_factory, clock)
    posts = history(clock.now(), days=8, per_bucket=6)
    # A backfill in two halves, with detection between them: the not-yet-filled days
    # look silent in event time, but posts are arriving, so no channel_silent.
    half = len(posts) // 2
    _ingest(session_factory, clock, wid, posts[:half], KeywordClassifier())
    assert "channel_silent" not in _detect(session_factory, clock, wid).actions
    _ingest(session_factory, clock, wid, posts[half:], KeywordClassifier())
    assert _detect(session_factory, clock, wid).actions == {}
    # Then nothing arrives for an hour on a normally busy watch: the source is broken.
    silent = []
    for _ in range(12):
        clock.advance(timedelta(minutes=5))
        silent.append(_detect(session_factory, clock, wid).actions.get("channel_silent"))
    assert [a for a in silent if a][0] == "open:opened", silent
    assert silent[:2] == [None, None]  # not in the first 10 minutes


def test_a_crashed_claim_is_sent_after_its_lease(session_factory, clock):
    wid = _watch(session_factory, clock)
    with unit_of_work(session_factory) as s:
        s.add(an_open_alert("alr_x", wid, clock.now()))
        s.flush()
        outbox_repo.enqueue(
            s,
            alert_id="alr_x",
            target="webhook",
            event_type="alert.opened",
            payload={},
            now=clock.now(),
        )
    with unit_of_work(session_factory) as s:
        claimed = outbox_repo.claim_due(s, clock.now(), LEASE)
    assert len(claimed) == 1  # ... and the worker dies before sending
    with unit_of_work(session_factory) as s:
        assert outbox_repo.claim_due(s, clock.now() + LEASE / 2, LEASE) == []
    with unit_of_work(session_factory) as s:
        assert outbox_repo.claim_due(s, clock.now() + LEASE, LEASE) == claimed


def test_one_broken_watch_does_not_stop_the_others(session_factory, clock, db_engine):
    good = _watch(session_factory, clock, "Good")
    bad = _watch(session_factory, clock, "Bad")
    _ingest(session_factory, clock, good, history(clock.now(), days=2), KeywordClassifier())
    with unit_of_work(session_factory) as s:
        s.get(Watch, bad).sensitivity = "extreme"  # e.g. a hand-edited row
    runtime = _runtime(session_factory, clock, db_engine)
    assert tasks.detect_watches(runtime, only_dirty=False) == 2
    with unit_of_work(session_factory) as s:
        assert s.get(Watch, good).detector_state is not None
        assert s.get(Watch, bad).detector_state is None


def test_detector_decisions_are_counted_and_quiet_passes_not_logged(
    session_factory, clock, db_engine, caplog
):
    wid = _watch(session_factory, clock)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    runtime = _runtime(session_factory, clock, db_engine)
    tasks.detect_watches(runtime, only_dirty=False)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, burst(clock.now(), 60, NEGATIVE, "n"), KeywordClassifier())
    with caplog.at_level("INFO", logger="app.jobs.tasks"):
        tasks.detect_watches(runtime, only_dirty=False)
        opened = [r.getMessage() for r in caplog.records]
        caplog.clear()
        clock.advance(timedelta(seconds=30))
        tasks.detect_watches(runtime, only_dirty=False)  # the same wave, nothing new to say
        quiet = [r.getMessage() for r in caplog.records if r.levelname == "INFO"]
    assert any("negative_surge" in m and "open:opened" in m for m in opened), opened
    assert quiet == []
    text = runtime.metrics.render().decode()
    assert 'groundswell_detector_decisions_total{action="open"}' in text
    assert 'action="none"' not in text
