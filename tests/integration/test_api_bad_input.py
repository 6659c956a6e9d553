"""Bad input to the REST API gets a 4xx with a reason (never a 500), on a real database."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta, timezone
from urllib.parse import urlencode

import pytest

from app.api.pagination import encode_cursor
from app.db.session import unit_of_work
from app.services.retention import KEEP_POSTS
from tests.builders import an_open_alert, post_json, raw_post
from tests.integration.test_api import AUTH, SIGNING, _an_alert, _client, _signed, _watch

NOT_A_CURSOR = "cursor: not a cursor from this API"


@pytest.fixture
def client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        yield c


def _cursor(value: object) -> str:
    """What a client could forge: base64 of any JSON value, unpadded like ours."""
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


NOT_AN_ID = [[1, 2], {}, 1, None, True, "", "a\u0000b", "x" * 41]
NOT_A_POST_ID = [[1, 2], {}, "abc", "1", None, True, 1.5, -1, 2**63]
NOT_AN_ALERT_KEY = [
    [1, 2],
    {},
    1,
    "abc",
    ["x", "y"],
    ["2025-01-01T00:00:00", "alr_a"],  # no time zone
    ["0001-01-01T00:00:00+05:00", "alr_a"],  # before year 1 in UTC
    ["2025-01-01T00:00:00+00:00", 1],
    ["2025-01-01T00:00:00+00:00", "alr_a", "extra"],
]


def _refused(client, path: str, cursors: list[object]) -> None:
    for value in cursors:
        r = client.get(path, params={"cursor": _cursor(value)}, headers=AUTH)
        assert r.status_code == 422, (value, r.text)
        assert r.json() == {
            "detail": NOT_A_CURSOR,
            "errors": [{"field": "cursor", "reason": "not a cursor from this API"}],
        }, value
    for garbage in ("!!!", "bm90IGpzb24", "//79"):  # not base64; "not json"; not UTF-8
        r = client.get(path, params={"cursor": garbage}, headers=AUTH)
        assert (r.status_code, r.json()["detail"]) == (422, NOT_A_CURSOR), garbage


def test_watch_and_subscription_cursors_must_be_ids(client):
    _refused(client, "/api/v1/watches", NOT_AN_ID)
    _refused(client, "/api/v1/subscriptions", NOT_AN_ID)


def test_post_cursor_must_be_a_post_id(client, clock):
    wid = _watch(client)["id"]
    posts = [post_json(raw_post(f"p{i}", "fine", clock.now())) for i in range(3)]
    assert client.post(
        f"/api/v1/watches/{wid}/posts", json={"posts": posts}, headers=AUTH
    ).is_success
    _refused(client, f"/api/v1/watches/{wid}/posts", NOT_A_POST_ID)
    page1 = client.get(f"/api/v1/watches/{wid}/posts?limit=2", headers=AUTH).json()
    page2 = client.get(
        f"/api/v1/watches/{wid}/posts", params={"cursor": page1["next_cursor"]}, headers=AUTH
    ).json()
    got = [p["external_id"] for p in page1["items"] + page2["items"]]
    assert sorted(got) == ["p0", "p1", "p2"] and page2["next_cursor"] is None


def test_alert_cursor_must_be_an_opened_at_and_id(client, session_factory, clock):
    wid = _watch(client)["id"]
    with unit_of_work(session_factory) as s:  # one open alert per (watch, kind)
        for aid, kind, ago in [
            ("alr_a", "negative_surge", 0),
            ("alr_b", "parody_surge", 0),
            ("alr_c", "volume_surge", 1),
        ]:
            alert = an_open_alert(aid, wid, clock.now() - timedelta(hours=ago))
            alert.kind = kind
            s.add(alert)
    _refused(client, "/api/v1/alerts", NOT_AN_ALERT_KEY)
    page1 = client.get("/api/v1/alerts?limit=2", headers=AUTH).json()
    assert [a["id"] for a in page1["items"]] == ["alr_b", "alr_a"]
    page2 = client.get(
        "/api/v1/alerts?limit=2", params={"cursor": page1["next_cursor"]}, headers=AUTH
    ).json()
    assert [a["id"] for a in page2["items"]] == ["alr_c"] and page2["next_cursor"] is None
    # A cursor in another zone names the same instant as its UTC twin.
    opened = clock.now().astimezone(timezone(timedelta(hours=5)))
    r = client.get(
        "/api/v1/alerts",
        params={"cursor": encode_cursor([opened.isoformat(), "alr_b"])},
        headers=AUTH,
    )
    assert [a["id"] for a in r.json()["items"]] == ["alr_a", "alr_c"]


@pytest.mark.parametrize(
    ("created_at", "reason"),
    [
        ("0001-01-01T00:00:00+05:00", "is out of range"),
        ("9999-12-31T23:59:59-05:00", "is out of range"),
        ("9999-12-31T23:59:59+05:00", "is in the future"),
    ],
)
def test_post_created_at_at_the_ends_of_time_is_a_422(client, clock, created_at, reason):
    wid = _watch(client)["id"]
    good = post_json(raw_post("a", "fine", clock.now()))
    bad = dict(post_json(raw_post("b", "fine", clock.now())), created_at=created_at)
    r = client.post(f"/api/v1/watches/{wid}/posts", json={"posts": [good, bad]}, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json() == {
        "detail": f"posts[1].created_at: {reason}",
        "errors": [{"field": "posts[1].created_at", "reason": reason}],
    }


def test_post_older_than_retention_is_refused_not_silently_pruned(client, clock):
    wid = _watch(client)["id"]
    url = f"/api/v1/watches/{wid}/posts"
    kept = post_json(raw_post("kept", "fine", clock.now() - KEEP_POSTS))
    assert client.post(url, json={"posts": [kept]}, headers=AUTH).json()["accepted"] == 1
    old = post_json(raw_post("old", "fine", clock.now() - KEEP_POSTS - timedelta(seconds=1)))
    r = client.post(url, json={"posts": [old]}, headers=AUTH)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "posts[0].created_at",
            "reason": "is older than 35 days, the longest posts are kept",
        }
    ]
    assert [p["external_id"] for p in client.get(url, headers=AUTH).json()["items"]] == ["kept"]


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"])
def test_post_list_times_out_of_range_name_the_parameter(client, param, value):
    wid = _watch(client)["id"]
    r = client.get(f"/api/v1/watches/{wid}/posts", params={param: value}, headers=AUTH)
    assert r.status_code == 422, r.text
    reason = "is out of range once converted to UTC"
    assert r.json() == {
        "detail": f"{param}: {reason}",
        "errors": [{"field": param, "reason": reason}],
    }


def test_post_list_times_at_the_ends_of_time_in_utc_still_work(client, clock):
    wid = _watch(client)["id"]
    post = post_json(raw_post("a", "fine", clock.now()))
    client.post(f"/api/v1/watches/{wid}/posts", json={"posts": [post]}, headers=AUTH)
    params = {"since": "0001-01-01T00:00:00+00:00", "until": "9999-12-31T23:59:59"}
    r = client.get(f"/api/v1/watches/{wid}/posts", params=params, headers=AUTH)
    assert r.status_code == 200 and [p["external_id"] for p in r.json()["items"]] == ["a"]


@pytest.fixture
def slack_client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine, slack_signing_secret=SIGNING) as c:
        yield c


def _slack(client, payload: str):
    """POST a correctly signed interaction whose payload field is `payload`."""
    body = urlencode({"payload": payload})
    return client.post("/slack/interactions", content=body, headers=_signed(body, int(time.time())))


def _button(action: object, user: object = None) -> str:
    return json.dumps({"type": "block_actions", "user": user, "actions": [action]})


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("[1]", "payload: must be a JSON object"),
        ('"x"', "payload: must be a JSON object"),
        ("{bad", "not a block_actions payload"),
        ('{"actions": 1}', "payload.actions: must list an action object"),
        ('{"actions": []}', "payload.actions: must list an action object"),
        ('{"actions": [1]}', "payload.actions: must list an action object"),
        (_button({"action_id": ["x"], "value": "alr_a"}), "payload.actions[0]: action_id and"),
        (_button({"action_id": "alert_resolve", "value": 1}), "payload.actions[0]: action_id and"),
        (_button({"action_id": "alert_resolve"}), "payload.actions[0]: action_id and"),
        (
            _button({"action_id": "alert_resolve", "value": "alr_nope"}, user="x"),
            "payload.user: must be an object",
        ),
    ],
)
def test_signed_slack_payload_of_the_wrong_shape_is_a_400(slack_client, payload, reason):
    r = _slack(slack_client, payload)
    assert r.status_code == 400, r.text
    assert r.json()["detail"].startswith(reason)


def test_slack_body_or_timestamp_that_cannot_be_signed_is_a_401(slack_client):
    now = int(time.time())
    body = b"payload=caf\xe9"  # not UTF-8: slack_sdk cannot even compute a signature
    sig = hmac.new(SIGNING.encode(), f"v0:{now}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {**_signed("", now), "X-Slack-Signature": f"v0={sig}"}
    r = slack_client.post("/slack/interactions", content=body, headers=headers)
    assert (r.status_code, r.json()) == (401, {"detail": "invalid Slack signature"})
    text = urlencode({"payload": _button({"action_id": "alert_resolve", "value": "alr_a"})})
    headers = {**_signed(text, now), "X-Slack-Request-Timestamp": "soon"}
    r = slack_client.post("/slack/interactions", content=text, headers=headers)
    assert (r.status_code, r.json()) == (401, {"detail": "invalid Slack signature"})


def test_slack_button_on_an_unknown_alert_says_it_was_not_found(slack_client):
    r = _slack(slack_client, _button({"action_id": "alert_resolve", "value": "alr_nope"}))
    assert r.status_code == 200
    assert r.json() == {"response_type": "ephemeral", "text": "Not done: alert alr_nope not found"}
    r = slack_client.post("/api/v1/alerts/alr_nope/resolve", json={"by": "sam"}, headers=AUTH)
    assert (r.status_code, r.json()) == (404, {"detail": "alert alr_nope not found"})


JSON = {"Content-Type": "application/json"}
WATCH = b'{"name": "x", "terms": ["metro police"]}'


@pytest.mark.parametrize(
    ("body", "headers", "reason"),
    [
        (b"{bad", JSON, "invalid JSON (line 1, column 2: Expecting property name enclosed in"),
        (
            b'{"name": "x",\n "terms": [1,]}',
            JSON,
            "invalid JSON (line 2, column 14: Expecting value)",
        ),
        (b"", JSON, "Field required"),
        (b"[1]", JSON, "must be a JSON object"),
        (
            WATCH,
            {"Content-Type": "text/plain"},
            "must be JSON (send Content-Type: application/json)",
        ),
        ('{"name": "caf\u00e9"}'.encode("latin-1"), JSON, "invalid JSON (not UTF-8: byte 0xe9 at"),
    ],
)
def test_unreadable_body_is_a_422_on_the_body(client, body, headers, reason):
    r = client.post("/api/v1/watches", content=body, headers={**AUTH, **headers})
    assert r.status_code == 422, r.text
    [error] = r.json()["errors"]
    assert error["field"] == "body" and error["reason"].startswith(reason)
    assert r.json()["detail"] == f"body: {error['reason']}"


def test_field_errors_still_name_the_field_inside_the_body(client):
    r = client.post("/api/v1/watches", json={"name": "x", "terms": "nope"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "terms"


@pytest.mark.parametrize(
    ("until", "reason"),
    [
        (None, "snooze needs `until`"),
        ("2020-01-01T00:00:00Z", "must be in the future"),
        ("0001-01-01T00:00:00+05:00", "must be in the future"),
        ("9999-12-31T23:59:59-05:00", "snooze for at most 7 days"),
    ],
)
def test_alert_command_errors_list_the_field(client, session_factory, clock, until, reason):
    alert_id = _an_alert(session_factory, _watch(client)["id"], clock)
    body = {"by": "sam"} if until is None else {"by": "sam", "until": until}
    r = client.post(f"/api/v1/alerts/{alert_id}/snooze", json=body, headers=AUTH)
    assert r.status_code == 422
    assert r.json() == {
        "detail": f"until: {reason}",
        "errors": [{"field": "until", "reason": reason}],
    }
