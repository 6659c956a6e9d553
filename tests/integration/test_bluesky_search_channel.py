"""`bluesky:search` against a fake PDS over real HTTP: session, `since` cursor with an
overlap, paging, a malformed post, an expired token and a 429."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.session import unit_of_work
from app.db.tables import PollCursor, Post, Watch
from app.runtime import Runtime
from app.services import watches as watch_service
from app.services.polling import poll_channel
from app.sources.registry import ConnectorRegistry, bluesky_session
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.bluesky_api import FakeBluesky, post
from tests.fakes.classifier import KeywordClassifier
from tests.integration.test_api import AUTH, KEY, _NoWebhooks

SPEC = "bluesky:search"


@pytest.fixture
def bsky():
    with FakeBluesky() as fake:
        yield fake


def _registry(fake: FakeBluesky) -> ConnectorRegistry:
    settings = make_settings(
        bluesky_handle=fake.handle, bluesky_app_password=fake.password, bluesky_api_url=fake.url
    )
    return ConnectorRegistry(allow_private=True, bluesky=bluesky_session(settings))


def _watch(factory, clock, registry, own: list[str] | None = None) -> str:
    with unit_of_work(factory) as s:
        ws = watch_service.WatchSpec("Metro", ["metro police"], own or [], channels=[SPEC])
        return watch_service.create(s, ws, clock.now(), check_channel=registry.check).id


def _poll(factory, clock, registry, wid: str, now=None):
    with unit_of_work(factory) as s:
        return poll_channel(
            s,
            watch=s.get(Watch, wid),
            spec=SPEC,
            connector=registry.connector(SPEC),
            classifier=KeywordClassifier(),
            now=now or clock.now(),
        )


def _stored(factory, wid: str) -> dict[str, Post]:
    with unit_of_work(factory) as s:
        return {p.external_id: p for p in s.scalars(select(Post).where(Post.watch_id == wid))}


def _cursor(factory, wid: str) -> PollCursor:
    with unit_of_work(factory) as s:
        return s.get(PollCursor, (wid, SPEC))


def test_posts_land_once_across_polls_on_one_login(session_factory, clock, bsky) -> None:
    now = clock.now()
    first = [
        post(now - timedelta(minutes=m), f"Metro Police story {m}", rkey=f"a{m}") for m in (30, 5)
    ]
    first[0]["repostCount"], first[0]["quoteCount"], first[0]["likeCount"] = 2, 1, 9
    stale = post(now - timedelta(hours=3), "metro police long ago", rkey="old")
    other = post(now - timedelta(minutes=4), "metropolitan policing", rkey="nomatch")
    bsky.posts = [*first, stale, other]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)

    one = _poll(session_factory, clock, registry, wid)
    assert (one.accepted, one.error) == (2, None)  # the first poll looks back one hour
    assert bsky.searches[0]["q"] == ['"metro police"'] and bsky.searches[0]["sort"] == ["latest"]
    cursor = _cursor(session_factory, wid).cursor
    assert datetime.fromisoformat(cursor) == now - timedelta(minutes=5)

    newer = post(now - timedelta(minutes=1), "metro police again", rkey="b1")
    bsky.posts.append(newer)
    two = _poll(session_factory, clock, registry, wid)
    assert (two.accepted, two.duplicates) == (1, 1)  # the overlap re-reads the 5-minute one
    assert sorted(_stored(session_factory, wid)) == sorted(p["uri"] for p in [*first, newer])
    assert bsky.searches[-1]["since"] == [
        (now - timedelta(minutes=15)).isoformat().replace("+00:00", "Z")  # cursor - 10 min
    ]
    assert bsky.logins == 1  # the session is kept between polls

    stored = _stored(session_factory, wid)[first[0]["uri"]]
    assert stored.author_handle == "someone.bsky.social"
    assert stored.url == "https://bsky.app/profile/someone.bsky.social/post/a30"
    assert stored.metrics == {"replies": 0, "shares": 3, "likes": 9}
    assert stored.channel == "bluesky"


def test_a_post_indexed_late_with_an_earlier_time_is_still_read(
    session_factory, clock, bsky
) -> None:
    now = clock.now()
    bsky.posts = [post(now - timedelta(minutes=2), "metro police a", rkey="a")]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)
    _poll(session_factory, clock, registry, wid)
    late = post(now - timedelta(minutes=6), "metro police late", rkey="late", indexed_at=now)
    bsky.posts.append(late)
    assert _poll(session_factory, clock, registry, wid).accepted == 1
    assert late["uri"] in _stored(session_factory, wid)


def test_pages_follow_the_cursor(session_factory, clock, bsky) -> None:
    now = clock.now()
    bsky.posts = [
        post(now - timedelta(seconds=10 * s), f"metro police {s}", rkey=f"p{s}") for s in range(250)
    ]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)
    assert _poll(session_factory, clock, registry, wid).accepted == 250
    assert [q.get("cursor") for q in bsky.searches] == [None, ["100"], ["200"]]


def test_a_malformed_post_is_skipped_not_the_page(session_factory, clock, bsky, caplog) -> None:
    now = clock.now()
    good = post(now - timedelta(minutes=1), "metro police fine", rkey="g")
    no_text = post(now - timedelta(minutes=2), "x", rkey="n")
    del no_text["record"]["text"]
    bad_uri = post(now - timedelta(minutes=3), "metro police", rkey="u")
    bad_uri["uri"] = "https://not-an-at-uri"
    bsky.posts = [good, no_text, bad_uri, "not a post"]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)
    with caplog.at_level(logging.WARNING, logger="app.services.polling"):
        result = _poll(session_factory, clock, registry, wid)
    assert result.accepted == 1
    assert sorted(r.field for r in result.rejected) == ["post", "uri"]
    assert sum("skipped post" in r.getMessage() for r in caplog.records) == 2
    assert list(_stored(session_factory, wid)) == [good["uri"]]


def test_an_expired_token_is_refreshed_not_logged_in_again(session_factory, clock, bsky) -> None:
    now = clock.now()
    bsky.posts = [post(now - timedelta(minutes=1), "metro police", rkey="a")]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)
    _poll(session_factory, clock, registry, wid)
    bsky.expire_access = True
    bsky.posts.append(post(now - timedelta(seconds=30), "metro police two", rkey="b"))
    result = _poll(session_factory, clock, registry, wid)
    assert (result.error, result.accepted) == (None, 1)
    assert (bsky.logins, bsky.refreshes) == (1, 1)


def test_a_429_leaves_the_cursor_and_the_api_is_not_called_until_it_is_over(
    session_factory, clock, bsky
) -> None:
    now = clock.now()
    bsky.posts = [post(now - timedelta(minutes=1), "metro police", rkey="a")]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)
    _poll(session_factory, clock, registry, wid)
    cursor = _cursor(session_factory, wid).cursor
    bsky.rate_limited = True
    result = _poll(session_factory, clock, registry, wid)
    assert result.error and "HTTP 429" in result.error
    state = _cursor(session_factory, wid)
    assert (state.cursor, state.failures) == (cursor, 1)
    bsky.rate_limited = False
    calls = len(bsky.searches)
    assert "rate limited until" in _poll(session_factory, clock, registry, wid).error
    assert len(bsky.searches) == calls
    later = now + timedelta(seconds=61)
    assert _poll(session_factory, clock, registry, wid, now=later).error is None


def test_bluesky_search_without_an_account_gets_a_422(session_factory, clock, db_engine) -> None:
    runtime = Runtime(
        settings=make_settings(bootstrap_api_key=KEY),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=_NoWebhooks(),
    )
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        for spec, why in [
            (SPEC, "GROUNDSWELL_BLUESKY_HANDLE"),
            ("bluesky:firehose", "bluesky:search"),
        ]:
            body = {"name": "Metro", "terms": ["metro police"], "channels": [spec]}
            r = client.post("/api/v1/watches", json=body, headers=AUTH)
            assert r.status_code == 422, r.text
            assert spec in r.text and why in r.text
            assert r.json()["errors"][0]["field"] == "channels"


def test_a_wrong_app_password_marks_the_channel(session_factory, clock, bsky) -> None:
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry)
    bsky.password = "changed"
    result = _poll(session_factory, clock, registry, wid)
    assert "createSession: HTTP 401 (AuthenticationRequired)" in result.error
    assert _cursor(session_factory, wid).failures == 1


def test_posts_by_an_own_handle_are_own_posts(session_factory, clock, bsky) -> None:
    now = clock.now()
    ours = post(now - timedelta(minutes=2), "Metro Police update", handle="metropolice.bsky.social")
    theirs = post(now - timedelta(minutes=1), "metro police parody", rkey="p")
    bsky.posts = [ours, theirs]
    registry = _registry(bsky)
    wid = _watch(session_factory, clock, registry, own=["@metropolice.bsky.social"])
    _poll(session_factory, clock, registry, wid)
    stored = _stored(session_factory, wid)
    assert (stored[ours["uri"]].is_own, stored[theirs["uri"]].is_own) == (True, False)
