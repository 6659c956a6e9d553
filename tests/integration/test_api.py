"""The REST API in-process (TestClient) on a real database: auth, validation, paging."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.api.body_limit import MAX_BODY_BYTES
from app.db.session import unit_of_work
from app.db.tables import OutboxMessage, Subscription
from app.runtime import Runtime
from app.web import create_app
from tests.builders import an_open_alert, post_json, raw_post
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier

KEY = "test-key-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {KEY}"}


class _NoWebhooks:
    def send(self, *args, **kwargs) -> None:  # pragma: no cover - never reached here
        raise AssertionError("no webhooks in API tests")


def _client(session_factory, clock, db_engine, **settings):
    runtime = Runtime(
        settings=make_settings(bootstrap_api_key=KEY, **settings),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=_NoWebhooks(),
    )
    return TestClient(create_app(runtime, manage_runtime=False))


@pytest.fixture
def client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        yield c


def _watch(client, **extra):
    body = {"name": "Metro Police", "terms": ["metro police"], "own_handles": ["@MetroPolice"]}
    body.update(extra)
    r = client.post("/api/v1/watches", json=body, headers=AUTH)
    assert r.status_code == 201, r.text
    return r.json()


def test_every_route_needs_a_key(client):
    assert client.get("/api/v1/watches").status_code == 401
    assert (
        client.get("/api/v1/watches", headers={"Authorization": "Bearer wrong"}).status_code == 401
    )
    assert client.get("/api/v1/alerts", headers=AUTH).status_code == 200
    assert client.get("/healthz").json() == {"status": "ok"}


def test_a_watch_without_sensitivity_gets_the_servers_default(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine, default_sensitivity="high") as c:
        assert _watch(c)["sensitivity"] == "high"
        assert _watch(c, name="calm", sensitivity="low")["sensitivity"] == "low"


def test_watch_crud_and_paging(client):
    ids = [_watch(client, name=f"w{i}")["id"] for i in range(3)]
    page1 = client.get("/api/v1/watches?limit=2", headers=AUTH).json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    page2 = client.get(
        f"/api/v1/watches?limit=2&cursor={page1['next_cursor']}", headers=AUTH
    ).json()
    assert {w["id"] for w in page1["items"] + page2["items"]} == set(ids)
    assert page2["next_cursor"] is None
    r = client.patch(f"/api/v1/watches/{ids[0]}", json={"sensitivity": "high"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["sensitivity"] == "high"
    assert r.json()["own_handles"] == ["metropolice"]
    r = client.patch(
        f"/api/v1/watches/{ids[0]}", json={"terms": None, "channels": None}, headers=AUTH
    )
    assert r.status_code == 200 and r.json()["terms"] == ["metro police"]
    r = client.patch(
        f"/api/v1/watches/{ids[0]}", json={"terms": [], "own_handles": []}, headers=AUTH
    )
    assert r.status_code == 422
    assert client.delete(f"/api/v1/watches/{ids[0]}", headers=AUTH).status_code == 204
    assert client.get(f"/api/v1/watches/{ids[0]}", headers=AUTH).status_code == 404


def test_deleting_a_watch_queues_alert_resolved_for_its_open_alerts(client, session_factory, clock):
    wid = _watch(client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    r = client.post(
        "/api/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "events": ["alert.resolved"]},
        headers=AUTH,
    )
    assert r.status_code == 201
    assert client.delete(f"/api/v1/watches/{wid}", headers=AUTH).status_code == 204
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).status_code == 404
    with unit_of_work(session_factory) as s:  # outlives the watch and alert, to be sent
        (msg,) = s.scalars(select(OutboxMessage))
    assert (msg.alert_id, msg.event_type, msg.state) == (alert_id, "alert.resolved", "pending")
    data = msg.payload["data"]
    assert (data["watch_id"], data["state"], data["resolved_by"]) == (wid, "resolved", "bootstrap")


def test_bad_watch_gets_a_reason(client):
    r = client.post("/api/v1/watches", json={"name": "x", "sensitivity": "extreme"}, headers=AUTH)
    assert r.status_code == 422 and "sensitivity" in r.json()["detail"]
    r = client.post("/api/v1/watches", json={"name": "x"}, headers=AUTH)
    assert r.status_code == 422 and "terms" in r.json()["detail"]


def test_push_posts_idempotent_and_labelled(client, clock):
    wid = _watch(client)["id"]
    posts = [
        post_json(raw_post(f"p{i}", "what a disgrace", clock.now() - timedelta(minutes=i)))
        for i in range(5)
    ]
    r = client.post(f"/api/v1/watches/{wid}/posts", json={"posts": posts}, headers=AUTH)
    assert r.json() == {"accepted": 5, "duplicates": 0}
    r = client.post(f"/api/v1/watches/{wid}/posts", json={"posts": posts}, headers=AUTH)
    assert r.json() == {"accepted": 0, "duplicates": 5}
    listed = client.get(f"/api/v1/watches/{wid}/posts?label=negative", headers=AUTH).json()
    assert len(listed["items"]) == 5
    since = (clock.now() - timedelta(minutes=2, seconds=30)).replace(tzinfo=None).isoformat()
    recent = client.get(f"/api/v1/watches/{wid}/posts", params={"since": since}, headers=AUTH)
    assert recent.status_code == 200 and len(recent.json()["items"]) == 3
    assert client.get(f"/api/v1/watches/{wid}/posts?label=bogus", headers=AUTH).status_code == 422
    assert listed["items"][0]["labels"]["sentiment"] == "negative"


def test_malformed_item_names_index_and_field_and_stores_nothing(client, clock):
    wid = _watch(client)["id"]
    good = post_json(raw_post("a", "fine", clock.now()))
    bad = dict(post_json(raw_post("b", "fine", clock.now())), created_at="yesterday-ish")
    r = client.post(f"/api/v1/watches/{wid}/posts", json={"posts": [good, bad]}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("posts[1].created_at")
    future = dict(post_json(raw_post("c", "fine", clock.now() + timedelta(days=2))))
    r = client.post(f"/api/v1/watches/{wid}/posts", json={"posts": [good, future]}, headers=AUTH)
    assert r.status_code == 422 and r.json()["detail"].startswith("posts[1].created_at")
    assert client.get(f"/api/v1/watches/{wid}/posts", headers=AUTH).json()["items"] == []


def test_push_to_missing_watch_is_404(client, clock):
    body = {"posts": [post_json(raw_post("a", "fine", clock.now()))]}
    assert client.post("/api/v1/watches/nope/posts", json=body, headers=AUTH).status_code == 404


def test_subscription_secret_shown_once(client):
    r = client.post(
        "/api/v1/subscriptions",
        json={"url": "http://127.0.0.1:9/hook", "events": ["alert.opened"]},
        headers=AUTH,
    )
    assert r.status_code == 201 and r.json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/subscriptions", headers=AUTH).json()["items"]
    assert "secret" not in listed[0]
    r = client.post(
        "/api/v1/subscriptions", json={"url": "http://x/", "events": ["nope"]}, headers=AUTH
    )
    assert r.status_code == 422


def test_a_password_in_a_webhook_url_is_never_shown_back(client, session_factory):
    url = "http://hook:s3cret-pw@127.0.0.1:9/in?x=1"
    r = client.post(
        "/api/v1/subscriptions", json={"url": url, "events": ["alert.opened"]}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    assert r.json()["url"] == "http://hook:***@127.0.0.1:9/in?x=1"
    listed = client.get("/api/v1/subscriptions", headers=AUTH).json()["items"]
    shown = client.get(f"/api/v1/subscriptions/{r.json()['id']}", headers=AUTH)
    assert shown.status_code == 200 and shown.json()["url"] == r.json()["url"]
    assert "s3cret-pw" not in json.dumps(listed)
    with unit_of_work(session_factory) as s:  # kept as given, for the deliveries
        assert s.scalar(select(Subscription.url)) == url


def test_terms_longer_than_200_characters_are_refused(client):
    r = client.post("/api/v1/watches", json={"name": "w", "terms": ["x" * 201]}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "terms", "reason": "entries must be at most 200 characters"}
    ]
    assert _watch(client, terms=["x" * 200])["terms"] == ["x" * 200]


def test_bodies_over_the_cap_get_413_before_parsing(client):
    big = b'{"posts": [' + b" " * (MAX_BODY_BYTES + 1) + b"]}"
    wid = _watch(client)["id"]
    headers = {**AUTH, "Content-Type": "application/json"}
    r = client.post(f"/api/v1/watches/{wid}/posts", content=big, headers=headers)
    assert r.status_code == 413
    assert r.json()["detail"] == f"body: is larger than {MAX_BODY_BYTES} bytes"

    def chunks():  # no Content-Length: counted as it streams
        yield b'{"posts": ['
        for _ in range(33):
            yield b" " * (1024 * 1024)
        yield b"]}"

    r = client.post(f"/api/v1/watches/{wid}/posts", content=chunks(), headers=headers)
    assert r.status_code == 413, r.text
    ok = client.post(f"/api/v1/watches/{wid}/posts", json={"posts": []}, headers=AUTH)
    assert ok.status_code != 413


def test_alert_commands_on_missing_alert(client):
    r = client.post("/api/v1/alerts/nope/acknowledge", json={"by": "sam"}, headers=AUTH)
    assert r.status_code == 404


SIGNING = "slack-signing-secret-for-tests"


@pytest.fixture
def slack_client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine, slack_signing_secret=SIGNING) as c:
        yield c


def _an_alert(factory, watch_id, clock) -> str:
    with unit_of_work(factory) as s:
        s.add(an_open_alert("alr_test", watch_id, clock.now()))
    return "alr_test"


def _signed(body: str, ts: int, secret: str = SIGNING) -> dict[str, str]:
    sig = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": f"v0={sig}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_slack_button_acknowledges_after_signature_check(slack_client, session_factory, clock):
    wid = _watch(slack_client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    payload = {
        "type": "block_actions",
        "user": {"id": "U1", "username": "sam"},
        "actions": [{"action_id": "alert_acknowledge", "value": alert_id}],
    }
    body = urlencode({"payload": json.dumps(payload)})
    now = int(time.time())
    bad = slack_client.post("/slack/interactions", content=body, headers=_signed(body, now, "nope"))
    assert bad.status_code == 401
    ok = slack_client.post("/slack/interactions", content=body, headers=_signed(body, now))
    assert ok.status_code == 200
    alert = slack_client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert alert["state"] == "acknowledged" and alert["acknowledged_by"] == "sam (Slack)"
    events = slack_client.get(f"/api/v1/alerts/{alert_id}/events", headers=AUTH).json()
    assert [(e["type"], e["by"]) for e in events] == [("alert.acknowledged", "sam (Slack)")]
    # a second click (Slack signs it anew; the same signed request again is a replay: 409)
    again = slack_client.post("/slack/interactions", content=body, headers=_signed(body, now + 1))
    assert again.status_code == 200 and "already acknowledged" in again.json()["text"]


def test_openapi_describes_the_api(client):
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in (
        "/api/v1/watches",
        "/api/v1/watches/{watch_id}/posts",
        "/api/v1/alerts",
        "/api/v1/alerts/{alert_id}/acknowledge",
        "/api/v1/subscriptions",
        "/metrics",
    ):
        assert path in paths, path
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    # error bodies as they are sent: {detail, errors}, not FastAPI's default 422 schema
    push = paths["/api/v1/watches/{watch_id}/posts"]["post"]["responses"]
    ack = paths["/api/v1/alerts/{alert_id}/acknowledge"]["post"]["responses"]
    for responses, codes in ((push, ("401", "404", "413", "422")), (ack, ("404", "409"))):
        for code in codes:
            ref = responses[code]["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith("/ErrorBody"), (code, ref)
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    assert set(spec["components"]["schemas"]["ErrorBody"]["properties"]) == {"detail", "errors"}
    assert client.get("/docs").status_code == 200


def test_snooze_and_resolve_check_their_input_and_state(client, session_factory, clock):
    wid = _watch(client)["id"]
    alert_id = _an_alert(session_factory, wid, clock)
    url = f"/api/v1/alerts/{alert_id}"
    past = (clock.now() - timedelta(minutes=5)).isoformat()
    r = client.post(f"{url}/snooze", json={"by": "sam", "until": past}, headers=AUTH)
    assert r.status_code == 422 and "until" in r.json()["detail"]
    r = client.post(f"{url}/snooze", json={"by": "sam"}, headers=AUTH)
    assert r.status_code == 422
    until = (clock.now() + timedelta(hours=2)).isoformat()
    # an acknowledge carrying `until` was meant as a snooze: refused, not silently dropped
    r = client.post(f"{url}/acknowledge", json={"by": "sam", "until": until}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "until", r.text
    r = client.post(f"{url}/snooze", json={"by": "sam", "until": until}, headers=AUTH)
    assert r.status_code == 200 and r.json()["state"] == "snoozed"
    r = client.post(f"{url}/resolve", json={"by": "sam"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["resolved_by"] == "sam"
    r = client.post(f"{url}/resolve", json={"by": "sam"}, headers=AUTH)
    assert r.status_code == 409 and "already resolved" in r.json()["detail"]
    listed = client.get(f"/api/v1/alerts?watch_id={wid}&state=resolved", headers=AUTH).json()
    assert [a["id"] for a in listed["items"]] == [alert_id]
