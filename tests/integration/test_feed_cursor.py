"""Feed cursors over real HTTP: nothing lost to future dates, ties, floods or no date."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.core.channels import parse_spec
from app.core.ports import SourceError
from app.db.session import unit_of_work
from app.db.tables import PollCursor, Post, Watch
from app.services import watches as watch_service
from app.services.polling import poll_channel
from app.sources import feed
from app.sources.feed import FeedConnector
from tests.fakes.classifier import KeywordClassifier


def _item(guid: str | None, at: datetime | None, title: str = "metro police") -> str:
    parts = [f"<guid>{guid}</guid>" if guid else "", f"<title>{title} {guid or ''}</title>"]
    if at is not None:
        parts.append(f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate>")
    return f"<item>{''.join(parts)}</item>"


def _rss(*items: str) -> bytes:
    return f"<rss><channel><title>T</title>{''.join(items)}</channel></rss>".encode()


def _watch(factory, clock, spec: str) -> str:
    with unit_of_work(factory) as s:
        ws = watch_service.WatchSpec("Metro", ["metro police"], [], channels=[spec])
        return watch_service.create(s, ws, clock.now(), check_channel=parse_spec).id


def _poll(factory, clock, wid: str, spec: str):
    url = spec.removeprefix("rss:")
    with unit_of_work(factory) as s:
        return poll_channel(
            s,
            watch=s.get(Watch, wid),
            spec=spec,
            connector=FeedConnector(url, allow_private=True),
            classifier=KeywordClassifier(),
            now=clock.now(),
        )


def _stored(factory, wid: str) -> dict[str, Post]:
    with unit_of_work(factory) as s:
        return {p.external_id: p for p in s.scalars(select(Post).where(Post.watch_id == wid))}


def _cursor(factory, wid: str, spec: str) -> str | None:
    with unit_of_work(factory) as s:
        return s.get(PollCursor, (wid, spec)).cursor


def test_future_item_holds_the_cursor_back_and_is_read_when_its_time_comes(
    session_factory, clock, feed_server
) -> None:
    url, handler = feed_server
    spec, now = f"rss:{url}", clock.now()
    items = [
        _item("e", now - timedelta(minutes=5)),
        _item("g", now + timedelta(hours=2)),
        _item("f", now - timedelta(minutes=1)),
    ]
    handler.body = _rss(*items)
    wid = _watch(session_factory, clock, spec)
    first = _poll(session_factory, clock, wid, spec)
    assert (first.accepted, first.rejected) == (2, ())
    cursor = _cursor(session_factory, wid, spec)
    assert cursor and datetime.fromisoformat(cursor.split(" ")[0]) <= now

    clock.advance(timedelta(minutes=1))
    handler.body = _rss(*items, _item("h", clock.now()))
    assert _poll(session_factory, clock, wid, spec).accepted == 1
    assert set(_stored(session_factory, wid)) == {"e", "f", "h"}

    clock.advance(timedelta(hours=2))  # g's time has come
    assert _poll(session_factory, clock, wid, spec).accepted == 1
    assert set(_stored(session_factory, wid)) == {"e", "f", "g", "h"}


def test_item_turning_up_later_with_the_cursors_time_is_read(
    session_factory, clock, feed_server, caplog
) -> None:
    url, handler = feed_server
    spec, at = f"rss:{url}", clock.now() - timedelta(minutes=3)
    bad = "<item><guid>js</guid><title>metro police</title><link>javascript:x</link>"
    bad += f"<pubDate>{format_datetime(at, usegmt=True)}</pubDate></item>"
    handler.body = _rss(_item("d", at), bad)
    wid = _watch(session_factory, clock, spec)
    first = _poll(session_factory, clock, wid, spec)
    assert (first.accepted, len(first.rejected)) == (1, 1)

    handler.body = _rss(_item("d", at), bad, _item("e", at))  # same second, seen later
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="app.services.polling"):
        second = _poll(session_factory, clock, wid, spec)
        third = _poll(session_factory, clock, wid, spec)
    assert (second.accepted, second.duplicates, second.rejected) == (1, 0, ())
    assert (third.accepted, third.duplicates, third.rejected) == (0, 0, ())
    assert not caplog.records  # the bad item was reported once, not on every poll
    assert set(_stored(session_factory, wid)) == {"d", "e"}


def test_a_flood_of_items_comes_in_oldest_first_over_several_polls(
    session_factory, clock, feed_server, monkeypatch
) -> None:
    url, handler = feed_server
    spec, now = f"rss:{url}", clock.now()
    monkeypatch.setattr(feed, "MAX_ITEMS_PER_POLL", 100, raising=False)  # 1000 in service
    handler.body = _rss(*(_item(f"i{n}", now - timedelta(seconds=n)) for n in range(250)))
    wid = _watch(session_factory, clock, spec)
    taken = []
    for _ in range(4):
        taken.append(_poll(session_factory, clock, wid, spec).accepted)
        oldest_first = sorted(_stored(session_factory, wid), key=lambda e: -int(e[1:]))
        assert oldest_first == [f"i{n}" for n in range(249, 249 - sum(taken), -1)]
    assert taken == [100, 100, 50, 0]


def test_undated_item_is_dated_by_its_first_poll_and_one_without_identity_is_reported(
    session_factory, clock, feed_server, caplog
) -> None:
    url, handler = feed_server
    spec = f"rss:{url}"
    handler.body = _rss(_item("u", None), _item(None, clock.now(), "metro police no id"))
    wid = _watch(session_factory, clock, spec)
    with caplog.at_level(logging.WARNING, logger="app.services.polling"):
        first = _poll(session_factory, clock, wid, spec)
    assert first.accepted == 1
    assert [(r.item, r.field) for r in first.rejected] == [
        ("item 2 ('metro police no id')", "guid")
    ]
    [warning] = [r.getMessage() for r in caplog.records]
    assert spec in warning and "item 2" in warning and "guid: is missing" in warning
    assert _stored(session_factory, wid)["u"].created_at == clock.now()

    clock.advance(timedelta(minutes=1))
    again = _poll(session_factory, clock, wid, spec)
    assert (again.accepted, again.duplicates) == (0, 1)
    assert _stored(session_factory, wid)["u"].created_at == clock.now() - timedelta(minutes=1)


def test_an_oversized_feed_is_not_read_to_the_end(monkeypatch) -> None:
    sent: list[int] = []

    class Endless(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            block, total = b"<!-- padding -->" * 4096, 0
            try:
                while total < 200_000_000:
                    self.wfile.write(block)
                    total += len(block)
            except OSError:
                pass
            sent.append(total)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setattr(feed, "MAX_BYTES", 100_000)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        with pytest.raises(SourceError, match="larger than 100000 bytes"):
            FeedConnector(url, allow_private=True).fetch(["x"], None)
        server.shutdown()
    finally:
        server.server_close()
    assert sent and sent[0] < 50_000_000
