"""Polling channels: RSS/Atom over real HTTP, a JSONL file, cursors and failures."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from app.core.channels import UnknownChannel, parse_spec
from app.core.ports import SourceError
from app.db.session import unit_of_work
from app.db.tables import PollCursor, Post, Watch
from app.services import watches as watch_service
from app.services.polling import poll_channel
from app.sources.feed import FeedConnector, parse_feed
from app.sources.jsonl import JsonlConnector
from tests.fakes.classifier import KeywordClassifier

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Local News</title>
<item><guid>n1</guid><title>Metro Police praised</title>
<description>&lt;b&gt;great&lt;/b&gt; work</description>
<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate><link>https://news.example/1</link></item>
<item><guid>n2</guid><title>Weather</title><description>rain later</description>
<pubDate>Tue, 24 Nov 2026 10:05:00 GMT</pubDate></item>
<item><guid>n3</guid><title>metro police disgrace</title>
<pubDate>Tue, 24 Nov 2026 10:10:00 GMT</pubDate></item>
</channel></rss>"""
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


@pytest.fixture
def feed_server():
    class Handler(BaseHTTPRequestHandler):
        body = RSS
        status = 200

        def do_GET(self) -> None:  # noqa: N802
            self.send_response(Handler.status)
            self.send_header("Content-Type", "application/rss+xml")
            self.end_headers()
            self.wfile.write(Handler.body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml", Handler
    server.shutdown()


def test_feed_over_http_matches_terms_and_moves_the_cursor(feed_server) -> None:
    url, handler = feed_server
    conn = FeedConnector(url, allow_private=True)
    posts, cursor = conn.fetch(["metro police"], None)
    assert [p.external_id for p in posts] == ["n1", "n3"]
    assert conn.fetch(["metro police"], cursor) == ([], cursor)
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
            s, watch_service.WatchSpec("Metro", ["metro police"], [], channels=[spec]), clock.now()
        )
        wid = watch.id

    def poll():
        with unit_of_work(session_factory) as s:
            return poll_channel(
                s,
                watch=s.get(Watch, wid),
                spec=spec,
                connector=JsonlConnector(path),
                classifier=KeywordClassifier(),
                now=clock.now(),
            )

    assert poll().accepted == 5
    assert poll().accepted == 0  # the cursor moved: nothing read twice
    with path.open("a") as fh:
        fh.write("{broken json\n")
    failed = poll()
    assert failed.error and "line 6" in failed.error
    with unit_of_work(session_factory) as s:
        cur = s.get(PollCursor, (wid, spec))
        assert cur.failures == 1 and cur.cursor == "5"
        assert s.scalar(select(func.count()).select_from(Post)) == 5
