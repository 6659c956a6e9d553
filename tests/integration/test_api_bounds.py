"""Numbers beyond 64 bits and NUL characters in strings are refused with 422 naming the
field (never a 500 from the database or the JSON encoder), and the OpenAPI schema
states both bounds so a schema-driven fuzzer knows them. Runs on SQLite, and on
PostgreSQL (which refuses NUL in text and numbers beyond bigint) when configured."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from app.core.model import Author
from app.core.normalise import MAX_COUNT, InvalidPost, checked_post
from tests.builders import raw_post
from tests.integration.test_api import AUTH, _an_alert, _client, _watch

TOO_BIG = [2**63, 2**64, 10**30]


@pytest.fixture
def client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        yield c


def _post(clock, **changes):
    post = {
        "external_id": "p1",
        "text": "metro police were great today",
        "created_at": (clock.now() - timedelta(minutes=5)).isoformat(),
        "author": {"handle": "@sam", "followers": 10},
        "metrics": {"likes": 1, "shares": 0, "replies": 0},
    }
    for path, value in changes.items():
        *parents, leaf = path.split(".")
        node = post
        for p in parents:
            node = node[p]
        node[leaf] = value
    return post


def _push(client, wid, post):
    return client.post(f"/api/v1/watches/{wid}/posts", json={"posts": [post]}, headers=AUTH)


def _refused(r, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [field], r.text
    assert r.json()["detail"].startswith(f"{field}: ")


@pytest.mark.parametrize(
    "path", ["author.followers", "metrics.likes", "metrics.shares", "metrics.replies"]
)
def test_counts_beyond_64_bits_are_refused_naming_the_field(client, clock, path):
    wid = _watch(client)["id"]
    for value in TOO_BIG:
        _refused(_push(client, wid, _post(clock, **{path: value})), f"posts[0].{path}")
    ok = _push(client, wid, _post(clock, **{path: 2**63 - 1}))  # the largest is stored
    assert ok.status_code == 200 and ok.json()["accepted"] == 1, ok.text
    stored = client.get(f"/api/v1/watches/{wid}/posts", headers=AUTH).json()["items"][0]
    where, key = path.split(".")
    assert stored[where][key] == 2**63 - 1


@pytest.mark.parametrize("path", ["external_id", "author.handle"])
def test_nul_in_a_post_field_is_refused_naming_it(client, clock, path):
    wid = _watch(client)["id"]
    r = _push(client, wid, _post(clock, **{path: "ab\u0000c"}))
    _refused(r, f"posts[0].{path}")
    assert r.json()["errors"][0]["reason"] == "must not contain the NUL character (\\u0000)"
    r = _push(client, wid, _post(clock))
    assert r.status_code == 200 and r.json()["accepted"] == 1


def test_nul_in_post_text_is_cleaned_not_refused(client, clock):
    """Post text is free text: control characters become spaces, as before."""
    wid = _watch(client)["id"]
    r = _push(client, wid, _post(clock, text="metro\u0000police"))
    assert r.status_code == 200 and r.json()["accepted"] == 1, r.text
    items = client.get(f"/api/v1/watches/{wid}/posts", headers=AUTH).json()["items"]
    assert items[0]["text"] == "metro police"


WATCH_FIELDS = {
    "name": "Metro\u0000Police",
    "slack_channel": "#comms\u0000",
    "quiet_slack_channel": "#quiet\u0000",
    "topic": "the road\u0000works",
    "terms": ["metro\u0000police"],
    "own_handles": ["@Metro\u0000Police"],
    "channels": ["rss:https://news.example/\u0000feed"],
}


@pytest.mark.parametrize("field", sorted(WATCH_FIELDS))
def test_nul_in_a_watch_field_is_refused_on_create_and_update(client, field):
    value = WATCH_FIELDS[field]
    expected = f"{field}[0]" if isinstance(value, list) else field
    body = {"name": "Metro Police", "terms": ["metro police"], field: value}
    _refused(client.post("/api/v1/watches", json=body, headers=AUTH), expected)
    wid = _watch(client)["id"]
    r = client.patch(f"/api/v1/watches/{wid}", json={field: value}, headers=AUTH)
    _refused(r, expected)


@pytest.mark.parametrize("command", ["acknowledge", "snooze", "resolve"])
def test_nul_in_who_acted_on_an_alert_is_refused(client, session_factory, clock, command):
    alert_id = _an_alert(session_factory, _watch(client)["id"], clock)
    url = f"/api/v1/alerts/{alert_id}/{command}"
    extra = {"until": (clock.now() + timedelta(hours=1)).isoformat()} if command == "snooze" else {}
    _refused(client.post(url, json={"by": "sa\u0000m", **extra}, headers=AUTH), "by")
    ok = client.post(url, json={"by": "sam", **extra}, headers=AUTH)
    assert ok.status_code == 200, ok.text


def test_nul_in_a_subscription_is_refused(client):
    for body, field in (
        ({"url": "https://hooks.example/in\u0000x", "events": ["alert.opened"]}, "url"),
        ({"url": "https://hooks.example/in", "events": ["alert.opened\u0000"]}, "events[0]"),
    ):
        r = client.post("/api/v1/subscriptions", json=body, headers=AUTH)
        assert r.status_code == 422, r.text
        assert r.json()["errors"][0]["field"] == field, r.text


def test_the_openapi_schema_states_the_bounds(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]

    def prop(model: str, name: str) -> dict:
        p = schemas[model]["properties"][name]
        return next((a for a in p.get("anyOf", [p]) if a.get("type") != "null"), p)

    raw = client.get("/openapi.json").text  # exact, not the float 9.223372036854776e+18
    assert raw.count(": 9223372036854775807") + raw.count(":9223372036854775807") == 4
    assert prop("AuthorIn", "followers")["maximum"] == 2**63 - 1
    for name in ("likes", "shares", "replies"):
        assert prop("MetricsIn", name)["maximum"] == 2**63 - 1
    nul_free = [
        ("PostIn", "external_id"),
        ("AuthorIn", "handle"),
        ("WatchCreate", "name"),
        ("WatchCreate", "slack_channel"),
        ("WatchCreate", "quiet_slack_channel"),
        ("WatchCreate", "topic"),
        ("WatchUpdate", "slack_channel"),
        ("AlertCommand", "by"),
    ]
    for model, name in nul_free:
        assert "pattern" in prop(model, name), (model, name)
    for model in ("WatchCreate", "WatchUpdate"):
        for name in ("terms", "own_handles", "channels"):
            assert "pattern" in prop(model, name)["items"], (model, name)


def test_polled_posts_pass_the_same_bounds(clock):
    """checked_post, which every polled post passes too, refuses the same values."""
    base = raw_post("p1", "metro police", clock.now())
    cases = [
        (replace(base, external_id="a\u0000b"), "external_id"),
        (replace(base, author=Author("sa\u0000m", 1)), "author.handle"),
        (replace(base, author=Author("sam", MAX_COUNT + 1)), "author.followers"),
        (replace(base, metrics={"likes": MAX_COUNT + 1}), "metrics"),
    ]
    for post, field in cases:
        with pytest.raises(InvalidPost) as err:
            checked_post(post, clock.now())
        assert err.value.field == field
    assert checked_post(replace(base, metrics={"likes": MAX_COUNT}), clock.now()).metrics == {
        "likes": MAX_COUNT
    }
