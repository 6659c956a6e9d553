"""Issues #18 items 3-4 through the service: a negative wave's alert carries, in the
API and in Slack, counts of negative posts against their usual count over a named
window, the total volume beside it, the wave's start, its authors' reach, and a
severity from the size of the wave."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.core.channels import parse_spec
from app.db.session import unit_of_work
from app.db.tables import Alert, Post, Watch
from app.notify.slack import SlackNotifier
from app.notify.webhooks import WebhookSender
from app.runtime import Runtime
from app.services import watches as watch_service
from app.services.delivery import drain_outbox
from app.services.detection import detect_watch
from app.services.ingest import ingest_batch
from app.services.outbound import SlackTarget
from app.web import create_app
from tests.builders import NEGATIVE, history, raw_post
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.slack_api import FakeSlack

SLACK = SlackTarget(enabled=True, default_channel="#comms-oncall")
KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


def _ingest(factory, clock, watch_id, posts) -> None:
    for i in range(0, len(posts), 1000):
        with unit_of_work(factory) as s:
            ingest_batch(
                s,
                watch=s.get(Watch, watch_id),
                raw_posts=posts[i : i + 1000],
                classifier=KeywordClassifier(),
                now=clock.now(),
            )


def _detect(factory, clock, watch_id):
    with unit_of_work(factory) as s:
        return detect_watch(s, watch_id=watch_id, now=clock.now(), slack=SLACK)


def _wave(now: datetime, n: int, followers: int) -> list:
    return [
        raw_post(
            f"wave{i}",
            NEGATIVE[i % len(NEGATIVE)],
            now - timedelta(seconds=(i * 120) // n),
            handle=f"angry{i}",
            followers=followers,
        )
        for i in range(n)
    ]


@pytest.fixture
def wave_alert(session_factory, clock):
    """8 days of ordinary traffic (2 posts / 5 min, ~15 % negative), then 60
    negative posts in two minutes from 60 authors with 20,000 followers each."""
    with unit_of_work(session_factory) as s:
        wid = watch_service.create(
            s,
            watch_service.WatchSpec("Metro Police", ["metro police"], ["@MetroPolice"]),
            clock.now(),
            check_channel=parse_spec,
        ).id
    _ingest(session_factory, clock, wid, history(clock.now(), days=8))
    _detect(session_factory, clock, wid)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, _wave(clock.now(), 60, 20_000))
    outcome = _detect(session_factory, clock, wid)
    assert "negative_surge" in outcome.spikes
    with unit_of_work(session_factory) as s:
        alert = s.scalar(select(Alert).where(Alert.watch_id == wid, Alert.kind == "negative_surge"))
        assert alert is not None
        return wid, alert.id


def test_api_evidence_counts_window_volume_wave_start_and_reach(
    session_factory, clock, db_engine, wave_alert
) -> None:
    wid, alert_id = wave_alert
    runtime = Runtime(
        settings=make_settings(bootstrap_api_key=KEY),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=WebhookSender(allow_private=True),
    )
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        got = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH)
    assert got.status_code == 200
    alert = got.json()
    ev = alert["evidence"]
    minutes = ev["window_minutes"]
    assert minutes in (5, 15, 30)
    # the window's negative posts, counted in the database
    since = clock.now() - timedelta(minutes=minutes)
    with unit_of_work(session_factory) as s:
        negatives = s.scalars(
            select(Post).where(
                Post.watch_id == wid, Post.sentiment == "negative", Post.created_at >= since
            )
        ).all()
    assert ev["label"] == "negative"
    assert ev["observed_count"] >= 60 and ev["observed_count"] <= len(negatives)
    # usual count = usual posts for the window x usual share: ~2 posts per
    # 5 minutes at ~15 % negative, so under one negative post per 5 minutes
    assert ev["expected_count"] == pytest.approx(ev["expected_total_posts"] * ev["expected_share"])
    assert 0 < ev["expected_count"] < 0.6 * minutes / 5
    assert ev["expected_total_posts"] == pytest.approx(2.0 * minutes / 5, rel=0.35)
    assert ev["total_posts"] >= ev["observed_count"]
    # the old fields stay, with their old meaning
    assert ev["observed"] == ev["observed_count"]
    assert ev["expected"] == pytest.approx(ev["total_posts"] * ev["expected_share"])
    # when the wave started (this bucket: the history before it was ordinary)
    # and when the alert opened
    started = datetime.fromisoformat(ev["wave_started_at"])
    opened = datetime.fromisoformat(alert["opened_at"])
    assert started.replace(tzinfo=None) <= opened.replace(tzinfo=None)
    assert opened.replace(tzinfo=None) - started.replace(tzinfo=None) < timedelta(minutes=10)
    # reach of the wave's authors: the 60 wave authors (20k followers each) plus
    # any ordinary negative poster of the window (100 followers each)
    reach = ev["reach"]
    assert reach["authors"] >= 60
    assert 60 * 20_000 <= reach["followers"] <= 60 * 20_000 + 100 * (reach["authors"] - 60)
    # severity from the size of the wave: 60+ negative posts where ~1 is usual
    assert alert["severity"] == "critical"
    assert ev["severity_measured"] == "critical"


def test_slack_message_says_it_in_counts(session_factory, clock, wave_alert) -> None:
    _, alert_id = wave_alert
    with unit_of_work(session_factory) as s:
        ev = s.get(Alert, alert_id).evidence
    with FakeSlack() as slack:
        drain_outbox(
            session_factory,
            clock=clock,
            slack=SlackNotifier(token="xoxb-test", base_url=slack.base_url),
            webhooks=WebhookSender(allow_private=True),
        )
        posted = slack.calls("chat.postMessage")
    assert len(posted) == 1
    numbers = posted[0].payload["blocks"][1]["text"]["text"].split("\n")
    usual = ev["expected_count"]
    usual_text = f"about {usual:.1f}".replace(".0", "") if usual >= 0.05 else "none"
    assert numbers[0] == (
        f"*{ev['observed_count']:.0f} negative posts in the last {ev['window_minutes']} minutes; "
        f"usually {usual_text}*"
    )
    assert numbers[1].startswith(f"of {ev['total_posts']:.0f} posts; usually about ")
    assert numbers[2].startswith("*Share* ") and "negative (usually" in numbers[2]
    assert numbers[3].startswith("*Severity* critical: 5x the usual count or more")
    assert numbers[4] == (
        f"*Reach* {ev['reach']['authors']} authors · "
        f"{ev['reach']['followers'] / 1e6:.1f}M followers together"
    )
    assert (
        numbers[5].startswith("*Wave started* <!date^") and "*alert opened* <!date^" in numbers[5]
    )
    assert "negative posts in the last" in posted[0].payload["text"]
