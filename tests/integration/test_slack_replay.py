"""A signed Slack interaction is handled once: a replay within the 5-minute window is
refused (remembered in the database, so on every instance and after a restart)."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from app.db.session import unit_of_work
from app.db.tables import AlertEvent, OutboxMessage, SlackInteractionSeen
from tests.integration.test_api import AUTH, SIGNING, _an_alert, _client, _signed, _watch


@pytest.fixture
def slack_client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine, slack_signing_secret=SIGNING) as c:
        yield c


def _snooze_body(alert_id: str, user: str = "sam") -> str:
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": user},
        "actions": [{"action_id": "alert_snooze", "value": alert_id}],
    }
    return urlencode({"payload": json.dumps(payload)})


def _counts(factory, alert_id: str) -> tuple[int, int]:
    with unit_of_work(factory) as s:
        snoozes = s.scalar(
            select(func.count())
            .select_from(AlertEvent)
            .where(AlertEvent.alert_id == alert_id, AlertEvent.reason == "snoozed")
        )
        outbox = s.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.alert_id == alert_id)
        )
    return snoozes, outbox


def test_the_same_signed_body_three_times_snoozes_once(slack_client, session_factory, clock):
    wid = _watch(slack_client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    body, ts = _snooze_body(alert_id), int(time.time())
    first = slack_client.post("/slack/interactions", content=body, headers=_signed(body, ts))
    assert first.status_code == 200, first.text
    after_first = _counts(session_factory, alert_id)
    assert after_first[0] == 1
    for _ in range(2):
        again = slack_client.post("/slack/interactions", content=body, headers=_signed(body, ts))
        assert again.status_code == 409, again.text
        assert again.json()["detail"] == "replayed Slack request: already handled"
    assert _counts(session_factory, alert_id) == after_first  # no snooze, no update, no hook


def test_a_replay_to_another_instance_is_refused(slack_client, session_factory, clock, db_engine):
    wid = _watch(slack_client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    body, ts = _snooze_body(alert_id), int(time.time())
    assert (
        slack_client.post(
            "/slack/interactions", content=body, headers=_signed(body, ts)
        ).status_code
        == 200
    )
    # A second app with its own runtime (another instance, or this one restarted).
    with _client(session_factory, clock, db_engine, slack_signing_secret=SIGNING) as other:
        r = other.post("/slack/interactions", content=body, headers=_signed(body, ts))
    assert r.status_code == 409, r.text
    assert _counts(session_factory, alert_id)[0] == 1


def test_a_new_click_is_not_a_replay_and_old_signatures_are_forgotten(
    slack_client, session_factory, clock
):
    wid = _watch(slack_client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    now = int(time.time())
    with unit_of_work(session_factory) as s:  # seen 10 minutes ago: outside the window
        s.add(SlackInteractionSeen(signature="v0=old", request_ts=now - 600))
    body = _snooze_body(alert_id)
    assert (
        slack_client.post(
            "/slack/interactions", content=body, headers=_signed(body, now)
        ).status_code
        == 200
    )
    other = _snooze_body(alert_id, user="kim")  # another click: another body and signature
    r = slack_client.post("/slack/interactions", content=other, headers=_signed(other, now + 1))
    assert r.status_code == 200, r.text
    assert _counts(session_factory, alert_id)[0] == 2
    with unit_of_work(session_factory) as s:
        kept = set(s.scalars(select(SlackInteractionSeen.signature)))
    assert "v0=old" not in kept and len(kept) == 2


def test_a_replay_of_a_refused_click_is_refused_as_a_replay(slack_client, session_factory, clock):
    wid = _watch(slack_client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    r = slack_client.post(f"/api/v1/alerts/{alert_id}/resolve", json={"by": "kim"}, headers=AUTH)
    assert r.status_code == 200
    body, ts = _snooze_body(alert_id), int(time.time())
    first = slack_client.post("/slack/interactions", content=body, headers=_signed(body, ts))
    assert first.status_code == 200 and first.json()["text"].startswith("Not done: ")
    again = slack_client.post("/slack/interactions", content=body, headers=_signed(body, ts))
    assert again.status_code == 409, again.text
