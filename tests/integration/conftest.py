"""Fixtures shared by the integration tests."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.integration.live_db import live_factory  # noqa: F401  (a fixture)

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Local News</title>
<item><guid>n1</guid><title>Metro Police praised</title>
<description>&lt;b&gt;great&lt;/b&gt; work</description>
<pubDate>Tue, 24 Nov 2026 10:00:00 GMT</pubDate><link>https://news.example/1</link></item>
<item><guid>n2</guid><title>Weather</title><description>rain later</description>
<pubDate>Tue, 24 Nov 2026 10:05:00 GMT</pubDate></item>
<item><guid>n3</guid><title>metro police disgrace</title>
<pubDate>Tue, 24 Nov 2026 10:10:00 GMT</pubDate></item>
</channel></rss>"""


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
