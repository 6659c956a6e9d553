"""Issue #21 (playbooks as data, last item): publishing webhook events.

When a negative or parody surge opens, subscribers that ask for it get
`publishing.pause_recommended` (so a scheduling tool can hold queued celebratory
posts) and the Slack alert says so; `publishing.resume_ok` follows when it
resolves and no other negative/parody alert of the watch is still unresolved.
Real database, real detection where a surge is needed, real HTTP to the
Standard Webhooks receiver fake (which verifies every signature) and the Slack fake."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.db.session import unit_of_work
from app.db.tables import Alert
from app.notify.slack_blocks import PAUSE_LINE
from app.services import alerts as alert_service
from app.services import subscriptions as sub_service
from tests.builders import NEGATIVE, an_open_alert
from tests.fakes.slack_api import FakeSlack
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.integration.test_api import AUTH, _client
from tests.integration.test_paging_by_severity import CELEBRATION, _announce
from tests.integration.test_pipeline import SLACK, _drain, _surge_after_history, _watch

PUBLISHING = ["publishing.pause_recommended", "publishing.resume_ok"]
ALL = ["alert.opened", "alert.resolved", *PUBLISHING]


@pytest.fixture
def fakes():
    with FakeSlack() as slack, WebhookReceiver() as hooks:
        yield slack, hooks


def _subscribe(factory, clock, hooks, path: str, events: list[str]) -> None:
    with unit_of_work(factory) as s:
        sub = sub_service.create(
            s, url=hooks.url_for(path), events=events, now=clock.now(), allow_private=True
        )
        hooks.set_secret(sub.secret, path=path)


def _types(hooks, path: str = "/all") -> list[str]:
    return [e.payload["type"] for e in hooks.delivered if e.path == path]


def _moments(hooks, path: str = "/all") -> list[tuple[str, ...]]:
    """Event types grouped by the moment they were made. Events of one alert arrive
    in the order they were made; an alert.* event and the publishing.* one it causes
    are made at the same instant, so their relative order is not promised."""
    moments: dict[str, list[str]] = {}
    for e in hooks.delivered:
        if e.path == path:
            moments.setdefault(e.payload["timestamp"], []).append(e.payload["type"])
    return [tuple(sorted(types)) for types in moments.values()]


def _texts(blocks) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in blocks)


def test_a_negative_surge_pauses_publishing_and_its_resolve_resumes_it(
    session_factory, clock, fakes
):
    slack, hooks = fakes
    _subscribe(session_factory, clock, hooks, "/all", ALL)
    _subscribe(session_factory, clock, hooks, "/opened-only", ["alert.opened", "alert.resolved"])
    wid, outcome = _surge_after_history(session_factory, clock, NEGATIVE, 60)
    assert outcome.actions.get("negative_surge") == "open:opened", outcome
    _drain(session_factory, clock, slack)

    with unit_of_work(session_factory) as s:
        alert = s.scalar(select(Alert).where(Alert.watch_id == wid))
    assert _moments(hooks) == [("alert.opened", "publishing.pause_recommended")]
    pause = [e for e in hooks.delivered if e.payload["type"] == PUBLISHING[0]][0]
    assert set(pause.payload) == {"type", "timestamp", "data"}
    data = pause.payload["data"]
    assert (data["watch_id"], data["watch_name"], data["alert_id"], data["kind"]) == (
        wid,
        "Metro Police",
        alert.id,
        "negative_surge",
    )
    assert "celebratory" in data["reason"]
    assert pause.msg_id  # signed and verified by the receiver like any other event
    # A subscription that lists only alert events gets none of the publishing ones.
    assert _types(hooks, "/opened-only") == ["alert.opened"]
    (post,) = slack.calls("chat.postMessage")
    assert PAUSE_LINE in _texts(post.payload["blocks"])

    clock.advance(timedelta(minutes=2))  # within the receiver's 5-min signature tolerance
    with unit_of_work(session_factory) as s:
        alert_service.resolve(s, alert_id=alert.id, by="sam", now=clock.now(), slack=SLACK)
    _drain(session_factory, clock, slack)
    assert _moments(hooks) == [
        ("alert.opened", "publishing.pause_recommended"),
        ("alert.resolved", "publishing.resume_ok"),
    ]
    resume = [e for e in hooks.delivered if e.payload["type"] == PUBLISHING[1]][0]
    assert resume.payload["data"]["alert_id"] == alert.id
    assert "sam" in resume.payload["data"]["reason"]
    assert _types(hooks, "/opened-only") == ["alert.opened", "alert.resolved"]
    (edit,) = slack.calls("chat.update")
    assert PAUSE_LINE not in _texts(edit.payload["blocks"])  # resolved: no more pause line


def test_a_second_open_surge_keeps_publishing_paused_until_both_resolve(
    session_factory, clock, fakes
):
    slack, hooks = fakes
    _subscribe(session_factory, clock, hooks, "/all", ALL)
    wid = _watch(session_factory, clock)
    for alert_id, kind in (("alr_neg", "negative_surge"), ("alr_par", "parody_surge")):
        with unit_of_work(session_factory) as s:
            alert = an_open_alert(alert_id, wid, clock.now())
            alert.kind = kind
            s.add(alert)
        _announce(session_factory, clock, alert_id, "alert.opened", "warning")
        clock.advance(timedelta(minutes=1))
    _drain(session_factory, clock, slack)
    pauses = [e.payload["data"] for e in hooks.delivered if e.payload["type"] == PUBLISHING[0]]
    assert [(p["alert_id"], p["kind"]) for p in pauses] == [
        ("alr_neg", "negative_surge"),
        ("alr_par", "parody_surge"),
    ]

    with unit_of_work(session_factory) as s:
        alert_service.resolve(s, alert_id="alr_neg", by="sam", now=clock.now(), slack=SLACK)
    _drain(session_factory, clock, slack)
    assert _moments(hooks)[-1] == ("alert.resolved",)  # the parody surge is still open
    assert "publishing.resume_ok" not in _types(hooks)

    clock.advance(timedelta(minutes=1))
    with unit_of_work(session_factory) as s:
        alert_service.resolve(s, alert_id="alr_par", by="sam", now=clock.now(), slack=SLACK)
    _drain(session_factory, clock, slack)
    resumes = [e.payload["data"] for e in hooks.delivered if e.payload["type"] == PUBLISHING[1]]
    assert [(r["alert_id"], r["kind"]) for r in resumes] == [("alr_par", "parody_surge")]


def test_a_volume_surge_neither_pauses_nor_resumes(session_factory, clock, fakes):
    slack, hooks = fakes
    _subscribe(session_factory, clock, hooks, "/all", ALL)
    wid, outcome = _surge_after_history(session_factory, clock, CELEBRATION, 80)
    assert outcome.actions.get("volume_surge") == "open:opened", outcome
    _drain(session_factory, clock, slack)
    with unit_of_work(session_factory) as s:
        alert = s.scalar(select(Alert).where(Alert.watch_id == wid))
    assert alert.kind == "volume_surge"
    with unit_of_work(session_factory) as s:
        alert_service.resolve(s, alert_id=alert.id, by="sam", now=clock.now(), slack=SLACK)
    _drain(session_factory, clock, slack)
    assert _types(hooks) == ["alert.opened", "alert.resolved"]


def test_subscriptions_accept_the_publishing_event_names(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as client:
        r = client.post(
            "/api/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "events": PUBLISHING},
            headers=AUTH,
        )
        assert r.status_code == 201, r.text
        assert r.json()["events"] == PUBLISHING
        r = client.post(
            "/api/v1/subscriptions",
            json={"url": "http://127.0.0.1:9/hook", "events": ["publishing.pause"]},
            headers=AUTH,
        )
        assert r.status_code == 422
        assert "publishing.pause_recommended" in r.text
