"""A real local HTTP server speaking the slice of the Slack Web API we use.

POST /api/chat.postMessage, /api/chat.update, /api/auth.test with form or JSON
bodies and `Authorization: Bearer xoxb-...`. Records every call (failed ones
too) thread-safely; failures are scripted with `fail_next`. Also
`GET /_fake/calls[?method=...]` returns the recorded calls as JSON, for a
harness talking to a standalone instance.

In-process:   with FakeSlack() as slack: WebClient(token="xoxb-t", base_url=slack.base_url)
Standalone:   python -m tests.fakes.slack_api --port 0 --record calls.jsonl
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import signal
import threading
from collections import deque
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_server import LocalServer

METHODS = ("chat.postMessage", "chat.update", "auth.test")


@dataclass
class SlackCall:
    """One request the fake received, and what it answered."""

    method: str
    payload: dict[str, Any]
    ok: bool
    error: str | None = None
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: float | None
    times: int


def channel_id(channel: str) -> str:
    """Slack-style id for a channel name; ids (C…/G…/D…) pass through."""
    if channel[:1] in "CGD" and channel[1:].isalnum() and channel.isupper():
        return channel
    digest = hashlib.sha1(channel.lstrip("#").encode()).hexdigest()[:8].upper()
    return f"C{digest}"


def _parse_body(content_type: str, raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    if content_type.startswith("application/json"):
        data = json.loads(raw.decode("utf-8"))
        return data if isinstance(data, dict) else {}
    form = {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    for key in ("blocks", "attachments", "metadata"):  # JSON-encoded in form bodies
        if isinstance(form.get(key), str):
            with contextlib.suppress(ValueError):
                form[key] = json.loads(form[key])
    return form


class FakeSlack(LocalServer):
    """In-process fake Slack Web API on 127.0.0.1 (port 0 = a free one)."""

    def __init__(
        self, *, port: int = 0, token: str | None = None, record: str | Path | None = None
    ) -> None:
        super().__init__(port)
        self._token = token
        self._record = Path(record) if record else None
        self._lock = threading.Condition()
        self._calls: list[SlackCall] = []
        self._failures: dict[str, deque[_Failure]] = {}
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._seq = 0
        self._channel_errors: dict[str, str] = {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"fake": self})

    @property
    def base_url(self) -> str:
        """The value for WebClient(base_url=...)."""
        return f"http://127.0.0.1:{self.port}/api/"

    # scripting and queries --------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str = "internal_error",
        retry_after: float | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with {"ok": false, "error": error}."""
        with self._lock:
            self._failures.setdefault(method, deque()).append(
                _Failure(status, error, retry_after, times)
            )

    def channel_error(self, channel: str, error: str | None) -> None:
        """Answer every chat.postMessage/chat.update to `channel` (name or id) with
        {"ok": false, "error": error} (e.g. "not_in_channel") until cleared with None."""
        with self._lock:
            if error is None:
                self._channel_errors.pop(channel_id(channel), None)
            else:
                self._channel_errors[channel_id(channel)] = error

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def messages(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Current state of each posted message by (channel_id, ts), after updates."""
        with self._lock:
            return dict(self._messages)

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:
        """Block until `count` successful calls of `method`; AssertionError on timeout."""

        def done() -> bool:
            return sum(1 for c in self._calls if c.method == method and c.ok) >= count

        with self._lock:
            if not self._lock.wait_for(done, timeout=timeout):
                got = sum(1 for c in self._calls if c.method == method and c.ok)
                raise AssertionError(f"wanted {count} ok {method} calls, got {got} in {timeout}s")
            return [c for c in self._calls if c.method == method and c.ok]

    # request handling (called from server threads) ---------------------------
    def handle(
        self, method: str, auth: str | None, payload: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            status, headers, body = self._answer(method, auth, payload)
            call = SlackCall(method, payload, bool(body.get("ok")), body.get("error"), status, body)
            self._calls.append(call)
            if self._record is not None:
                with self._record.open("a", encoding="utf-8") as fh:
                    fh.write(json.dumps(asdict(call)) + "\n")
            self._lock.notify_all()
        return status, headers, body

    def _answer(
        self, method: str, auth: str | None, payload: dict[str, Any]
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        if method not in METHODS:
            return 404, {}, {"ok": False, "error": "unknown_method"}
        token = auth[len("Bearer ") :] if auth and auth.startswith("Bearer ") else None
        if not token:
            return 200, {}, {"ok": False, "error": "not_authed"}
        if (self._token and token != self._token) or not token.startswith(("xoxb-", "xoxp-")):
            return 200, {}, {"ok": False, "error": "invalid_auth"}
        queue = self._failures.get(method)
        if queue:
            failure = queue[0]
            failure.times -= 1
            if failure.times <= 0:
                queue.popleft()
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(int(failure.retry_after))
            return failure.status, headers, {"ok": False, "error": failure.error}
        if method == "auth.test":
            return (
                200,
                {},
                {
                    "ok": True,
                    "url": "https://fake.slack.test/",
                    "team": "Groundswell Test",
                    "user": "groundswell",
                    "team_id": "T0000001",
                    "user_id": "U0000001",
                    "bot_id": "B0000001",
                },
            )
        channel = str(payload.get("channel") or "")
        if not channel:
            return 200, {}, {"ok": False, "error": "channel_not_found"}
        if not (payload.get("text") or payload.get("blocks")):
            return 200, {}, {"ok": False, "error": "no_text"}
        cid = channel_id(channel)
        if cid in self._channel_errors:
            return 200, {}, {"ok": False, "error": self._channel_errors[cid]}
        message = {"text": payload.get("text"), "blocks": payload.get("blocks")}
        if method == "chat.update":
            ts = str(payload.get("ts") or "")
            if (cid, ts) not in self._messages:
                return 200, {}, {"ok": False, "error": "message_not_found"}
            self._messages[(cid, ts)] = message
            return 200, {}, {"ok": True, "channel": cid, "ts": ts, "text": message["text"]}
        self._seq += 1
        ts = f"{1700000000 + self._seq}.000100"
        self._messages[(cid, ts)] = message
        return 200, {}, {"ok": True, "channel": cid, "ts": ts, "message": {**message, "ts": ts}}


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path != "/_fake/calls":
            self._send(404, {"ok": False, "error": "not_found"})
            return
        method = parse_qs(parts.query).get("method", [None])[0]
        self._send(200, [asdict(c) for c in self.fake.calls(method)])

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not path.startswith("/api/"):
            self._send(404, {"ok": False, "error": "not_found"})
            return
        try:
            payload = _parse_body(self.headers.get("Content-Type", ""), raw)
        except ValueError:
            self._send(200, {"ok": False, "error": "invalid_json"})
            return
        status, headers, body = self.fake.handle(
            path[len("/api/") :], self.headers.get("Authorization"), payload
        )
        self._send(status, body, headers)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Slack Web API for tests")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=None, help="accept only this bot token")
    parser.add_argument("--record", default=None, help="append calls as JSON lines here")
    args = parser.parse_args(argv)
    fake = FakeSlack(port=args.port, token=args.token, record=args.record).start()
    print(fake.base_url, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
