"""Polling channels: RSS/Atom over real HTTP, a JSONL file, cursors and failures."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.core.channels import UnknownChannel, parse_spec
from app.core.model import Fetched
from app.core.ports import SourceError
from app.db.session import unit_of_work
from app.db.tables import PollCursor, Post, Watch
from app.jobs import tasks
from app.runtime import Runtime
from app.services import watches as watch_service
from app.services.polling import poll_channel
from app.sources.feed import FeedConnector, parse_feed
from app.sources.jsonl import JsonlConnector
from app.sources.registry import ConnectorRegistry
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.integration.conftest import RSS

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">
<title>Blog</title><entry><id>tag:a,1</id><title>Metro Police 50k</title>
<updated>2026-11-24T09:00:00Z</updated><link href="https://blog.example/a"/>
<author><name>ann</name></author></entry></feed>"""


def test_rss_and_atom_items_become_posts() -> None:
    rss = parse_feed(RSS)
    assert [p.external_id for p in rss] == ["n1", "n2", "n3"]
    assert rss[0].text == "Metro Police praised great work"
    assert rss[0].author.handle == "Local News" and rss[0].url == "https://news.example/1"
    atom = parse_feed(ATOM)
    assert atom[0].author.handle == "ann" and atom[0].created_at.hour == 9
    with pytest.raises(SourceError):
        parse_feed(b"<not xml")


def test_channel_specs_are_checked() -> None:
    assert parse_spec("rss:https://x/feed") == ("rss", "https://x/feed")
    for bad in ("twitter:@x", "rss:ftp://x", "file:", "nonsense"):
        with pytest.raises(UnknownChannel):
            parse_spec(bad)


def test_feed_over_http_matches_terms_and_moves_the_cursor(feed_server) -> None:
    url, handler = feed_server
    conn = FeedConnector(url, allow_private=True)
    fetched = conn.fetch(["metro police"], None)
    assert [p.external_id for p in fetched.posts] == ["n1", "n3"]
    cursor = fetched.cursor
    assert conn.fetch(["metro police"], cursor) == Fetched([], cursor)
    handler.status = 503
    with pytest.raises(SourceError):
        conn.fetch(["metro police"], None)
    with pytest.raises(SourceError):  # loopback refused unless allowed
        FeedConnector(url, allow_private=False).fetch([], None)


def test_poll_ingests_once_and_records_failures(session_factory, clock, tmp_path) -> None:
    path = tmp_path / "posts.jsonl"
    lines = [
        {
            "external_id": str(i),
            "text": f"metro police update {i}",
            "created_at": (clock.now() - timedelta(minutes=i)).isoformat(),
            "author": {"handle": "someone"},
        }
        for i in range(5)
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    spec = f"file:{path}"
    with unit_of_work(session_factory) as s:
        watch = watch_service.create(
            s,
            watch_service.WatchSpec("Metro", ["metro police"], [], channels=[spec]),
            clock.now(),
            check_channel=ConnectorRegistry(allow_private=False, file_root=tmp_path).check,
        )
        wid = watch.id

    def poll():
        with unit_of_work(session_factory) as s:
            return poll_channel(
                s,
                watch=s.get(Watch, wid),
                spec=spec,
                connector=JsonlConnector(path, root=tmp_path),
                classifier=KeywordClassifier(),
                now=clock.now(),
            )

    assert poll().accepted == 5
    assert poll().accepted == 0  # the cursor moved: nothing read twice
    path.rename(tmp_path / "gone.jsonl")  # the channel as a whole cannot be read
    failed = poll()
    assert failed.error and "No such file" in failed.error
    with unit_of_work(session_factory) as s:
        cur = s.get(PollCursor, (wid, spec))
        assert cur.failures == 1 and cur.cursor == "5"
        assert s.scalar(select(func.count()).select_from(Post)) == 5


def _line(ext: str, at: datetime, **extra: object) -> str:
    item = {"external_id": ext, "text": f"metro police {ext}", "created_at": at.isoformat()}
    item["author"] = {"handle": "someone"}
    item.update(extra)
    return json.dumps(item)


def _file_watch(factory, clock, path) -> str:
    with unit_of_work(factory) as s:
        spec = watch_service.WatchSpec("Metro", ["metro police"], [], channels=[f"file:{path}"])
        root = ConnectorRegistry(allow_private=False, file_root=path.parent)
        return watch_service.create(s, spec, clock.now(), check_channel=root.check).id


def _poll(factory, clock, wid, spec, connector):
    with unit_of_work(factory) as s:
        return poll_channel(
            s,
            watch=s.get(Watch, wid),
            spec=spec,
            connector=connector,
            classifier=KeywordClassifier(),
            now=clock.now(),
        )


def _stored(factory, wid) -> dict[str, Post]:
    with unit_of_work(factory) as s:
        rows = s.scalars(select(Post).where(Post.watch_id == wid)).all()
        return {p.external_id: p for p in rows}


def test_bad_jsonl_line_is_skipped_with_a_warning_and_the_rest_ingested(
    session_factory, clock, tmp_path, caplog
) -> None:
    path = tmp_path / "feed.jsonl"
    lines = [_line("1", clock.now()), _line("2", datetime(2099, 1, 1, tzinfo=UTC))]
    path.write_text("\n".join([*lines, _line("3", clock.now())]) + "\n")
    wid, spec = _file_watch(session_factory, clock, path), f"file:{path}"
    conn = JsonlConnector(path, root=tmp_path)

    with caplog.at_level(logging.WARNING, logger="app.services.polling"):
        first = _poll(session_factory, clock, wid, spec, conn)
    assert (first.accepted, first.error) == (2, None)
    assert [str(r) for r in first.rejected] == [
        "external_id '2' (line 2): created_at: is in the future"
    ]
    assert set(_stored(session_factory, wid)) == {"1", "3"}
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert spec in warning.getMessage() and "line 2" in warning.getMessage()
    assert "created_at: is in the future" in warning.getMessage()
    with unit_of_work(session_factory) as s:
        cur = s.get(PollCursor, (wid, spec))
        assert (cur.cursor, cur.failures, cur.last_error) == ("3", 0, None)

    again = _poll(session_factory, clock, wid, spec, conn)  # not retried forever
    assert (again.accepted, again.rejected) == (0, ())


def test_jsonl_items_get_the_same_rules_as_pushed_posts(session_factory, clock, tmp_path) -> None:
    path = tmp_path / "feed.jsonl"
    now = clock.now()
    path.write_text(
        "\n".join(
            [
                _line("js", now, url="javascript:alert(1)"),
                _line("lots", now, author={"handle": "zz", "followers": "lots"}),
                _line("neg", now, author={"handle": "zz", "followers": -1}),
                _line("long", now, text="metro police " + "x" * 10_000),
                "{broken json",
                "[1, 2]",
                json.dumps({"external_id": "nohandle", "text": "metro police", "author": {}}),
                _line(
                    "ok", now, url="https://news.example/ok", author={"handle": "a", "followers": 3}
                ),
            ]
        )
        + "\n"
        + _line("half", now)[:20]  # the writer is still at it: no newline yet
    )
    wid, spec = _file_watch(session_factory, clock, path), f"file:{path}"
    conn = JsonlConnector(path, root=tmp_path)

    result = _poll(session_factory, clock, wid, spec, conn)
    assert result.accepted == 1 and result.error is None
    reasons = {r.item.split(" (")[0].split(" ")[-1].strip("'"): r for r in result.rejected}
    assert reasons["js"].field == "url" and "http(s)" in reasons["js"].reason
    assert reasons["lots"].field == "author.followers"
    assert reasons["neg"].field == "author.followers"
    assert reasons["long"].field == "text" and "10000" in reasons["long"].reason
    assert "line 5: line: is not JSON" in str(reasons["5"])
    assert str(reasons["6"]) == "line 6: line: is not a JSON object"
    assert str(reasons["7"]) == "line 7: created_at: is missing"
    stored = _stored(session_factory, wid)
    assert list(stored) == ["ok"] and stored["ok"].url == "https://news.example/ok"
    assert stored["ok"].author_followers == 3

    with path.open("a") as fh:  # the unfinished line is read once it is complete
        fh.write(_line("half", now)[20:] + "\n")
    finished = _poll(session_factory, clock, wid, spec, conn)
    assert (finished.accepted, finished.rejected) == (1, ())
    assert "half" in _stored(session_factory, wid)


def _feed(*items: str) -> bytes:
    body = "".join(f"<item>{i}</item>" for i in items)
    rss = f'<rss version="2.0"><channel><title>T</title>{body}</channel></rss>'
    return rss.encode()


def test_bad_feed_item_is_skipped_and_the_cursor_moves(
    session_factory, clock, feed_server, caplog
) -> None:
    url, handler = feed_server
    when = (clock.now() - timedelta(minutes=5)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    item = "<guid>{}</guid><title>metro police {}</title><pubDate>{}</pubDate>{}"
    handler.body = _feed(
        item.format("a", "fine", when, ""),
        item.format("long", "x" * 10_001, when, ""),
        item.format("js", "link", when, "<link>javascript:alert(1)</link>"),
        item.format("b", "also fine", when, "<link>https://news.example/b</link>"),
    )
    spec = f"rss:{url}"
    with unit_of_work(session_factory) as s:
        wid = watch_service.create(
            s,
            watch_service.WatchSpec("Metro", ["metro police"], [], channels=[spec]),
            clock.now(),
            check_channel=parse_spec,
        ).id
    conn = FeedConnector(url, allow_private=True)

    with caplog.at_level(logging.WARNING, logger="app.services.polling"):
        result = _poll(session_factory, clock, wid, spec, conn)
    assert result.accepted == 2 and result.error is None
    assert [(r.item, r.field) for r in result.rejected] == [
        ("external_id 'long'", "text"),
        ("external_id 'js'", "url"),
    ]
    assert "longer than 10000 characters" in result.rejected[0].reason
    assert set(_stored(session_factory, wid)) == {"a", "b"}
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(messages) == 2 and all(spec in m for m in messages)
    assert "external_id 'long'" in messages[0]
    with unit_of_work(session_factory) as s:
        assert s.get(PollCursor, (wid, spec)).failures == 0
    again = _poll(session_factory, clock, wid, spec, conn)
    assert (again.accepted, again.rejected, again.error) == (0, (), None)


def test_poll_job_counts_skipped_items_by_channel_kind(
    session_factory, clock, db_engine, tmp_path
) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_text(
        _line("1", clock.now()) + "\n" + _line("2", clock.now(), url="ftp://x/y") + "\n"
    )
    _file_watch(session_factory, clock, path)
    runtime = Runtime(
        settings=make_settings(file_channel_dir=tmp_path),
        engine=db_engine,
        session_factory=session_factory,
        clock=clock,
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=None,  # type: ignore[arg-type]  # polling sends nothing
        connectors=ConnectorRegistry(allow_private=True, file_root=tmp_path),
    )
    assert tasks.poll_watches(runtime) == 1
    sample = runtime.metrics.registry.get_sample_value
    assert sample("groundswell_poll_items_rejected_total", {"kind": "file"}) == 1
    assert b"groundswell_poll_items_rejected_total" in runtime.metrics.render()
