"""A password in an RSS channel URL is used to fetch the feed but never shown: not in
the watch, not in the channel health (`channel`, `last_error`), not in the log, not in
a refusal, the way webhook URLs show `***`."""

from __future__ import annotations

import base64
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from app.core.channels import masked_spec, redact
from app.db.session import unit_of_work
from app.db.tables import Watch
from app.jobs import tasks
from app.sources.registry import ConnectorRegistry
from tests.integration.conftest import RSS
from tests.integration.test_api import AUTH, _client

SECRET = "s3cret-pw"


@pytest.fixture
def client(session_factory, clock, db_engine):
    with _client(session_factory, clock, db_engine) as c:
        yield c


@pytest.fixture
def private_feed():
    """A feed that answers only with Basic auth reader:s3cret-pw (else 401)."""
    seen: list[str | None] = []
    expected = "Basic " + base64.b64encode(f"reader:{SECRET}".encode()).decode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            ok = self.headers.get("Authorization") == expected
            self.send_response(200 if ok else 401)
            self.end_headers()
            if ok:
                self.wfile.write(RSS)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], seen, expected
    server.shutdown()


def test_the_feed_password_is_used_but_never_shown(client, private_feed, caplog, tmp_path):
    port, seen, expected = private_feed
    good = f"rss:http://reader:{SECRET}@127.0.0.1:{port}/feed.xml"
    wrong = f"rss:http://reader:{SECRET}x@127.0.0.1:{port}/feed.xml"  # answers 401
    shown = f"rss:http://reader:***@127.0.0.1:{port}/feed.xml"
    body = {"name": "Metro Police", "terms": ["metro police"], "channels": [good, wrong]}
    created = client.post("/api/v1/watches", json=body, headers=AUTH)
    assert created.status_code == 201, created.text
    wid = created.json()["id"]
    assert created.json()["channels"] == [shown, shown]
    runtime = client.app.state.runtime
    runtime.connectors = ConnectorRegistry(allow_private=True, file_root=tmp_path)
    with caplog.at_level(logging.INFO):
        assert tasks.poll_watches(runtime) == 2  # n1 and n3 match "metro police"
    assert seen.count(expected) == 1 and len(seen) == 2  # the password was sent
    health = client.get(f"/api/v1/watches/{wid}/channels", headers=AUTH)
    assert health.status_code == 200
    (ok, failed) = health.json()
    assert ok["channel"] == shown and ok["failures"] == 0
    assert failed["channel"] == shown and failed["failures"] == 1
    assert "HTTP 401" in failed["last_error"] and "reader:***@" in failed["last_error"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("HTTP 401" in w for w in warnings), warnings
    everything = "\n".join(
        [
            caplog.text,
            created.text,
            health.text,
            client.get(f"/api/v1/watches/{wid}", headers=AUTH).text,
            client.get("/api/v1/watches", headers=AUTH).text,
            client.patch(f"/api/v1/watches/{wid}", json={"channels": [good]}, headers=AUTH).text,
        ]
    )
    assert SECRET not in everything


def test_a_watch_sent_back_as_shown_keeps_its_feed_password(client, session_factory):
    good = f"rss:https://reader:{SECRET}@news.example/feed.xml"
    body = {"name": "Metro Police", "terms": ["metro police"], "channels": [good]}
    watch = client.post("/api/v1/watches", json=body, headers=AUTH).json()
    shown = watch["channels"]
    assert shown == ["rss:https://reader:***@news.example/feed.xml"]
    other = "rss:https://news.example/other.xml"
    r = client.patch(
        f"/api/v1/watches/{watch['id']}", json={"channels": [*shown, other]}, headers=AUTH
    )
    assert r.status_code == 200 and r.json()["channels"] == [*shown, other]
    with unit_of_work(session_factory) as s:
        assert s.get(Watch, watch["id"]).channels == [good, other]


def test_a_refused_channel_does_not_echo_its_password(client):
    spec = f"rss:ftp://reader:{SECRET}@news.example/feed.xml"
    body = {"name": "Metro Police", "terms": ["metro police"], "channels": [spec]}
    r = client.post("/api/v1/watches", json=body, headers=AUTH)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "channels"
    assert SECRET not in r.text and "reader:***@" in r.text


def test_masking_and_redaction():
    assert masked_spec("rss:https://u:p%40ss@x.example/f") == "rss:https://u:***@x.example/f"
    assert masked_spec("rss:https://x.example/f") == "rss:https://x.example/f"
    assert masked_spec("file:/data/a.jsonl") == "file:/data/a.jsonl"
    spec = "rss:https://u:p%40ss@x.example/f"
    assert redact("GET https://u:p%40ss@x.example/f failed; u:p@ss@x", spec) == (
        "GET https://u:***@x.example/f failed; u:***@x"
    )
