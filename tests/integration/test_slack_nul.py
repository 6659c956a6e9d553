"""A NUL character in a signed Slack interaction (the alert id or the user's name) is
refused or dropped, never a 500 from PostgreSQL."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import pytest

from tests.integration.test_api import AUTH, SIGNING, _an_alert, _client, _signed, _watch


@pytest.fixture
def slack_client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine, slack_signing_secret=SIGNING) as c:
        yield c


def _send(client, user: dict, action: dict):
    payload = {"type": "block_actions", "user": user, "actions": [action]}
    body = urlencode({"payload": json.dumps(payload)})
    return client.post("/slack/interactions", content=body, headers=_signed(body, int(time.time())))


def test_nul_in_the_alert_id_is_refused(slack_client):
    action = {"action_id": "alert_acknowledge", "value": "alr_\u0000x"}
    r = _send(slack_client, {"id": "U1", "username": "sam"}, action)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith("payload.actions[0].value: ")


def test_nul_in_the_user_name_is_dropped(slack_client, session_factory, clock):
    alert_id = _an_alert(session_factory, _watch(slack_client)["id"], clock)
    action = {"action_id": "alert_acknowledge", "value": alert_id}
    r = _send(slack_client, {"id": "U1", "username": "sa\u0000m"}, action)
    assert r.status_code == 200, r.text
    alert = slack_client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert alert["acknowledged_by"] == "sam (Slack)"
