"""Mastodon channels against a fake instance over real HTTP: cursor, overlap for late
federation, malformed statuses, 429s and own statuses."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.db.session import unit_of_work
from app.db.tables import PollCursor, Post, Watch
from app.jobs import tasks
from app.runtime import Runtime
from app.services import watches as watch_service
from app.services.polling import poll_channel
from app.sources.registry import ConnectorRegistry
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.fakes.mastodon_api import FakeMastodon, status
from tests.integration.test_api import AUTH, KEY, _NoWebhooks


@pytest.fixture
def mastodon():
    with FakeMastodon() as fake:
        yield fake


def _watch(factory, clock, registry, spec: str, own: list[str] | None = None) -> str:
    with unit_of_work(factory) as s:
        ws = watch_service.WatchSpec("Metro", ["metro police"], own or [], channels=[spec])
        return watch_service.create(s, ws, clock.now(), check_channel=registry.check).id


def _poll(factory, clock, registry, wid: str, spec: str, now=None):
    with unit_of_work(factory) as s:
        return poll_channel(
            s,
            watch=s.get(Watch, wid),
            spec=spec,
            connector=registry.connector(spec),
            classifier=KeywordClassifier(),
            now=now or clock.now(),
        )


def _stored(factory, wid: str) -> dict[str, Post]:
    with unit_of_work(factory) as s:
        return {p.external_id: p for p in s.scalars(select(Post).where(Post.watch_id == wid))}


def _cursor(factory, wid: str, spec: str) -> PollCursor:
    with unit_of_work(factory) as s:
        return s.get(PollCursor, (wid, spec))


def test_tag_posts_land_once_across_two_polls_with_their_fields(
    session_factory, clock, mastodon
) -> None:
    now = clock.now()
    first = [status(now - timedelta(minutes=m), f"metro police {m}", seq=m) for m in (9, 6, 3)]
    first[0]["content"] = "<p>Metro police &amp; <b>co</b><br>line two</p>"
    first[0]["account"]["followers_count"] = 4321
    first[0].update(replies_count=2, reblogs_count=5, favourites_count=7)
    mastodon.tags["metropolice"] = list(first)
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)

    one = _poll(session_factory, clock, registry, wid, spec)
    assert (one.accepted, one.duplicates, one.error) == (3, 0, None)
    assert _cursor(session_factory, wid, spec).cursor == first[2]["id"]

    newer = [status(now - timedelta(minutes=m), f"metro police new {m}", seq=m) for m in (2, 1)]
    mastodon.tags["metropolice"] += newer
    two = _poll(session_factory, clock, registry, wid, spec)
    assert (two.accepted, two.duplicates) == (2, 3)  # the overlap re-reads, ingest drops
    stored = _stored(session_factory, wid)
    assert sorted(stored) == sorted(s["uri"] for s in first + newer)
    assert _cursor(session_factory, wid, spec).cursor == newer[1]["id"]
    assert "min_id" in mastodon.requests[-1][1]  # the second poll pages forward

    post = stored[first[0]["uri"]]
    assert post.text == "Metro police & co line two"
    assert post.author_handle == "citizen@social.example"
    assert post.author_followers == 4321
    assert post.url == first[0]["url"]
    assert post.metrics == {"replies": 2, "shares": 5, "likes": 7}
    assert post.channel == "mastodon"


def test_pages_forward_past_one_page(session_factory, clock, mastodon) -> None:
    now = clock.now()
    start = status(now - timedelta(minutes=59), "metro police start")
    mastodon.tags["metropolice"] = [start]
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    assert _poll(session_factory, clock, registry, wid, spec).accepted == 1
    burst = [status(now - timedelta(seconds=s), f"metro police {s}", seq=s) for s in range(90)]
    mastodon.tags["metropolice"] += burst
    result = _poll(session_factory, clock, registry, wid, spec)
    assert result.accepted == 90
    assert len(_stored(session_factory, wid)) == 91


def test_a_late_federated_status_with_an_older_id_is_still_read(
    session_factory, clock, mastodon
) -> None:
    now = clock.now()
    mastodon.tags["metropolice"] = [status(now - timedelta(minutes=1), "metro police a")]
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    _poll(session_factory, clock, registry, wid, spec)
    cursor = _cursor(session_factory, wid, spec).cursor

    late = status(now - timedelta(minutes=4), "metro police late", acct="far@away.example")
    too_late = status(now - timedelta(minutes=30), "metro police much later")
    assert int(late["id"]) < int(cursor)  # it lands below the cursor already passed
    mastodon.tags["metropolice"] += [late, too_late]
    result = _poll(session_factory, clock, registry, wid, spec)
    assert result.accepted == 1
    stored = _stored(session_factory, wid)
    assert late["uri"] in stored and too_late["uri"] not in stored  # overlap is 10 minutes
    assert _cursor(session_factory, wid, spec).cursor == cursor  # never moves back


def test_a_malformed_status_is_skipped_with_a_warning_not_the_page(
    session_factory, clock, mastodon, caplog
) -> None:
    now = clock.now()
    good = status(now - timedelta(minutes=3), "metro police good", seq=1)
    no_account = status(now - timedelta(minutes=2), "metro police x", seq=2)
    del no_account["account"]
    bad_date = status(now - timedelta(minutes=1), "metro police y", seq=3)
    bad_date["created_at"] = "yesterday"
    mastodon.tags["metropolice"] = [good, no_account, bad_date]
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    with caplog.at_level(logging.WARNING, logger="app.services.polling"):
        result = _poll(session_factory, clock, registry, wid, spec)
    assert result.accepted == 1
    assert sorted(r.field for r in result.rejected) == ["account.acct", "created_at"]
    assert sum("skipped status" in r.getMessage() for r in caplog.records) == 2
    assert list(_stored(session_factory, wid)) == [good["uri"]]
    assert _cursor(session_factory, wid, spec).cursor == bad_date["id"]  # read past them


def test_a_429_leaves_the_cursor_marks_the_channel_and_waits(
    session_factory, clock, db_engine, mastodon
) -> None:
    now = clock.now()
    mastodon.tags["metropolice"] = [status(now - timedelta(minutes=5), "metro police one")]
    runtime = Runtime(
        settings=make_settings(bootstrap_api_key=KEY),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=_NoWebhooks(),
        connectors=ConnectorRegistry(allow_private=True),
    )
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, runtime.connectors, spec)
    assert tasks.poll_watches(runtime) == 1
    cursor = _cursor(session_factory, wid, spec).cursor

    mastodon.tags["metropolice"].append(status(now - timedelta(minutes=1), "metro police two"))
    mastodon.rate_limited, mastodon.retry_after = True, 120
    assert tasks.poll_watches(runtime) == 0
    state = _cursor(session_factory, wid, spec)
    assert (state.cursor, state.failures) == (cursor, 1)
    assert "429" in state.last_error
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        health = client.get(f"/api/v1/watches/{wid}/channels", headers=AUTH).json()
    assert health[0]["channel"] == spec and health[0]["failures"] == 1
    assert "rate limited until" in health[0]["last_error"]

    mastodon.rate_limited = False
    calls = len(mastodon.requests)
    assert tasks.poll_watches(runtime) == 0  # Retry-After not over: the instance is not called
    assert len(mastodon.requests) == calls
    assert _cursor(session_factory, wid, spec).failures == 2

    clock.advance(timedelta(seconds=121))
    assert tasks.poll_watches(runtime) == 1
    state = _cursor(session_factory, wid, spec)
    assert state.failures == 0 and state.cursor != cursor
    assert len(_stored(session_factory, wid)) == 2


def test_own_account_statuses_are_own_posts(session_factory, clock, mastodon) -> None:
    now = clock.now()
    mine = [
        status(now - timedelta(minutes=m), f"our news {m}", acct="metropolice", host="police.ex")
        for m in (5, 2)
    ]
    mastodon.accounts["metropolice"] = ("1077", mine)
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/@metropolice"
    wid = _watch(session_factory, clock, registry, spec, own=["@MetroPolice@police.ex"])
    result = _poll(session_factory, clock, registry, wid, spec)
    assert result.accepted == 2  # the terms do not filter the account's own statuses
    stored = _stored(session_factory, wid)
    assert {p.author_handle for p in stored.values()} == {"metropolice@police.ex"}
    assert all(p.is_own for p in stored.values())
    paths = [p for p, _ in mastodon.requests]
    assert paths == ["/api/v1/accounts/lookup", "/api/v1/accounts/1077/statuses"]
    assert mastodon.requests[1][1]["exclude_reblogs"] == ["true"]


def test_the_token_goes_only_to_its_own_instance(session_factory, clock, mastodon) -> None:
    mastodon.tags["metropolice"] = []
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    elsewhere = ConnectorRegistry(
        allow_private=True, mastodon_token="s3cret", mastodon_token_host="mastodon.social"
    )
    wid = _watch(session_factory, clock, elsewhere, spec)
    _poll(session_factory, clock, elsewhere, wid, spec)
    here = ConnectorRegistry(
        allow_private=True,
        mastodon_token="s3cret",
        mastodon_token_host=f"127.0.0.1:{mastodon.port}",
    )
    _poll(session_factory, clock, here, wid, spec)
    assert mastodon.auth == [None, "Bearer s3cret"]


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("mastodon:https://mastodon.social/", "use mastodon:https://INSTANCE/tags/TAG"),
        ("mastodon:https://mastodon.social/tags/no-dash", "is not a hashtag"),
        ("mastodon:mastodon.social/tags/x", "http(s)"),
        ("mastodon:https://mastodon.social/@a/b", "is not an account name"),
    ],
)
def test_a_bad_mastodon_spec_gets_a_422_naming_the_channel(
    session_factory, clock, db_engine, spec, why
) -> None:
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
        body = {"name": "Metro", "terms": ["metro police"], "channels": [spec]}
        r = client.post("/api/v1/watches", json=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert spec.removeprefix("mastodon:") in r.text and why in r.text
    assert r.json()["errors"][0]["field"] == "channels"


def test_an_exhausted_budget_stops_paging_and_keeps_what_was_read(
    session_factory, clock, mastodon
) -> None:
    now = clock.now()
    mastodon.tags["metropolice"] = [status(now - timedelta(minutes=59), "metro police start")]
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    _poll(session_factory, clock, registry, wid, spec)
    burst = [status(now - timedelta(seconds=s), f"metro police {s}", seq=s) for s in range(60)]
    mastodon.tags["metropolice"] += burst
    mastodon.remaining = 1  # this page's answer says X-RateLimit-Remaining: 0
    mastodon.reset_at = now + timedelta(minutes=5)
    calls = len(mastodon.requests)
    first = _poll(session_factory, clock, registry, wid, spec)
    # one page of 40 (the start status again, from the overlap, and 39 new), then stop
    assert (first.accepted, first.duplicates, len(mastodon.requests) - calls) == (39, 1, 1)
    again = _poll(session_factory, clock, registry, wid, spec)  # before X-RateLimit-Reset
    assert again.error and "rate limited until" in again.error
    mastodon.remaining = 299
    later = clock.now() + timedelta(minutes=6)
    assert _poll(session_factory, clock, registry, wid, spec, now=later).accepted == 21
    assert len(_stored(session_factory, wid)) == 61


def test_a_401_says_a_token_is_needed_and_a_404_names_the_tag(
    session_factory, clock, mastodon
) -> None:
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/nosuchtag"
    wid = _watch(session_factory, clock, registry, spec)
    result = _poll(session_factory, clock, registry, wid, spec)
    assert "HTTP 404 (Record not found)" in result.error
    assert "/api/v1/timelines/tag/nosuchtag" in result.error
    mastodon.require_token = "t0k"
    mastodon.tags["nosuchtag"] = []
    result = _poll(session_factory, clock, registry, wid, spec)
    assert "HTTP 401" in result.error and "GROUNDSWELL_MASTODON_TOKEN" in result.error
    host = f"127.0.0.1:{mastodon.port}"
    ok = ConnectorRegistry(allow_private=True, mastodon_token="t0k", mastodon_token_host=host)
    assert _poll(session_factory, clock, ok, wid, spec).error is None


def test_a_status_dated_ahead_by_a_skewed_clock_is_read_once_its_time_has_come(
    session_factory, clock, mastodon
) -> None:
    now = clock.now()
    skewed = status(now - timedelta(seconds=30), "metro police skewed")
    # 15 minutes ahead: past the 10 minutes of skew ingest allows
    skewed["created_at"] = (now + timedelta(minutes=15)).isoformat().replace("+00:00", "Z")
    mastodon.tags["metropolice"] = [skewed]  # its id is from when the instance got it
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    first = _poll(session_factory, clock, registry, wid, spec)
    assert first.accepted == 0 and [r.field for r in first.rejected] == ["created_at"]
    later = _poll(session_factory, clock, registry, wid, spec, now=now + timedelta(minutes=6))
    assert later.accepted == 1  # the overlap reads it again
    assert list(_stored(session_factory, wid)) == [skewed["uri"]]


def test_a_busy_overlap_window_does_not_stall_the_channel(session_factory, clock, mastodon) -> None:
    now = clock.now()
    mastodon.tags["metropolice"] = [status(now - timedelta(minutes=1), "metro police first")]
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    _poll(session_factory, clock, registry, wid, spec)
    # 500 statuses federate late into the 10 minutes before the cursor: more than a
    # poll's 10 pages of 40, so re-reading them all would never reach the new ones
    late = [status(now - timedelta(minutes=9), f"metro police late {n}", seq=n) for n in range(500)]
    new = [status(now - timedelta(seconds=s), f"metro police new {s}", seq=s) for s in range(50)]
    mastodon.tags["metropolice"] += late + new
    result = _poll(session_factory, clock, registry, wid, spec)
    stored = _stored(session_factory, wid)
    assert all(s["uri"] in stored for s in new)
    assert result.accepted == 200 + 50  # five pages of the late ones, then on from the cursor


def test_a_page_over_the_size_cap_fails_the_poll_not_the_process(
    session_factory, clock, mastodon
) -> None:
    huge = status(clock.now() - timedelta(minutes=1), "metro police " + "x" * 5_100_000)
    mastodon.tags["metropolice"] = [huge]
    registry = ConnectorRegistry(allow_private=True)
    spec = f"mastodon:{mastodon.base}/tags/metropolice"
    wid = _watch(session_factory, clock, registry, spec)
    result = _poll(session_factory, clock, registry, wid, spec)
    assert result.error and "larger than 5000000 bytes" in result.error
    assert _cursor(session_factory, wid, spec).cursor is None
