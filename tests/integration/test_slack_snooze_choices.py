"""Each snooze choice from the Slack menu snoozes the alert for that long; a value that
is not one of the menu's is refused; a Snooze button of an older message still works."""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta
from urllib.parse import urlencode

import pytest

from app.db.repos import alerts as alerts_repo
from app.db.session import unit_of_work
from app.notify.slack_blocks import render_alert
from tests.integration.test_api import AUTH, SIGNING, _an_alert, _client, _signed, _watch


@pytest.fixture
def slack_client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine, slack_signing_secret=SIGNING) as c:
        yield c


def _send(client, action: dict) -> object:
    payload = {"type": "block_actions", "user": {"id": "U1", "username": "sam"}}
    body = urlencode({"payload": json.dumps({**payload, "actions": [action]})})
    return client.post("/slack/interactions", content=body, headers=_signed(body, int(time.time())))


def _until(client, alert_id: str) -> datetime:
    alert = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert alert["state"] == "snoozed", alert
    return datetime.fromisoformat(alert["snoozed_until"].replace("Z", "+00:00"))


@pytest.mark.parametrize("minutes", [30, 120, 480, 1440])
def test_each_menu_choice_snoozes_for_that_long(slack_client, session_factory, clock, minutes):
    alert_id = _an_alert(session_factory, _watch(slack_client)["id"], clock)
    options = {o["value"]: o for o in _menu(session_factory, alert_id)["options"]}
    chosen = options[f"{alert_id}|{minutes}"]  # the option as rendered in the message
    action = {
        "type": "static_select",
        "action_id": "alert_snooze",
        "block_id": "alert_actions",
        "selected_option": chosen,
        "action_ts": str(time.time()),
    }
    r = _send(slack_client, action)
    assert r.status_code == 200 and r.json() == {}, r.text
    assert _until(slack_client, alert_id) == clock.now() + timedelta(minutes=minutes)


def test_a_value_not_on_the_menu_is_refused(slack_client, session_factory, clock):
    alert_id = _an_alert(session_factory, _watch(slack_client)["id"], clock)
    for value in (f"{alert_id}|5", f"{alert_id}|", "|30", alert_id, 30):
        action = {"action_id": "alert_snooze", "selected_option": {"value": value}}
        r = _send(slack_client, action)
        assert r.status_code == 400, (value, r.text)
        assert r.json()["detail"].startswith("payload.actions[0].selected_option.value: ")
    alert = slack_client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert alert["state"] == "open"


def test_the_snooze_button_of_an_older_message_snoozes_for_an_hour(
    slack_client, session_factory, clock
):
    alert_id = _an_alert(session_factory, _watch(slack_client)["id"], clock)
    r = _send(slack_client, {"type": "button", "action_id": "alert_snooze", "value": alert_id})
    assert r.status_code == 200, r.text
    assert _until(slack_client, alert_id) == clock.now() + timedelta(hours=1)


def _menu(factory, alert_id: str) -> dict:
    with unit_of_work(factory) as s:
        _, blocks = render_alert(alerts_repo.snapshot_of(s, alerts_repo.get(s, alert_id)))
    actions = next(b for b in blocks if b["type"] == "actions")
    return next(e for e in actions["elements"] if e["action_id"] == "alert_snooze")
