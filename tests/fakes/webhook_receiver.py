"""A real local HTTP server that receives Standard Webhooks, like a subscriber.

Verifies each POST with the maintained `standardwebhooks` library directly (not
our app.notify.signing wrapper, so a symmetric signing bug cannot hide), using
the secret for the request path, else the default secret. Secrets can be set
after start (a subscription's secret is only known once it exists). Verified
deliveries land in `.events`, failures in `.rejected` (answered 401). Responses
are scriptable with `respond_next`.

    with WebhookReceiver() as rx:
        rx.set_secret(secret)                # or rx.set_secret(secret, path="/a")
        ... send to rx.url or rx.url_for("/a") ...
        rx.wait_for(1); rx.events[0].payload
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from standardwebhooks.webhooks import Webhook

from tests.fakes.local_server import LocalServer


@dataclass
class Received:
    """One delivery: path, lower-cased headers, raw body, parsed JSON, our answer."""

    path: str
    headers: dict[str, str]
    body: bytes
    payload: Any
    status: int
    reason: str | None = None

    @property
    def msg_id(self) -> str | None:
        return self.headers.get("webhook-id")


@dataclass
class _Scripted:
    status: int
    times: int
    retry_after: float | None


class WebhookReceiver(LocalServer):
    """Local Standard Webhooks receiver on 127.0.0.1 (port 0 = a free one)."""

    def __init__(self, secret: str | None = None, *, port: int = 0) -> None:
        super().__init__(port)
        self._default_secret = secret
        self._secrets: dict[str, str] = {}
        self._lock = threading.Condition()
        self._events: list[Received] = []
        self._rejected: list[Received] = []
        self._script: deque[_Scripted] = deque()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return type("Handler", (_Handler,), {"receiver": self})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def url_for(self, path: str) -> str:
        """URL of another path on this receiver (for per-path secrets)."""
        base = self.url.rsplit("/", 1)[0]
        return base + "/" + path.lstrip("/")

    def set_secret(self, secret: str, path: str | None = None) -> None:
        """The secret to verify with: for one path, or the default for all."""
        with self._lock:
            if path is None:
                self._default_secret = secret
            else:
                self._secrets["/" + path.lstrip("/")] = secret

    def respond_next(
        self, status: int, *, times: int = 1, retry_after: float | None = None
    ) -> None:
        """Answer the next `times` verified deliveries with `status` (e.g. 500/429/410)."""
        with self._lock:
            self._script.append(_Scripted(status, times, retry_after))

    @property
    def events(self) -> list[Received]:
        """Verified deliveries in arrival order, including ones answered non-2xx."""
        with self._lock:
            return list(self._events)

    @property
    def delivered(self) -> list[Received]:
        """Verified deliveries that were answered 2xx."""
        return [e for e in self.events if 200 <= e.status < 300]

    @property
    def rejected(self) -> list[Received]:
        with self._lock:
            return list(self._rejected)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """Block until `count` verified events arrived; AssertionError on timeout."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._events) >= count, timeout=timeout):
                raise AssertionError(
                    f"wanted {count} webhook events, got {len(self._events)} "
                    f"(rejected {len(self._rejected)}) in {timeout}s"
                )
            return list(self._events)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        with self._lock:
            secret = self._secrets.get(path, self._default_secret)
        reason: str | None = None
        payload: Any = None
        if secret is None:
            reason = "no secret configured for this path"
        else:
            try:
                payload = Webhook(secret).verify(body, headers)
            except Exception as exc:  # the library raises several types
                reason = f"{type(exc).__name__}: {exc}"
        with self._lock:
            if reason is not None:
                self._rejected.append(Received(path, headers, body, None, 401, reason))
                self._lock.notify_all()
                return 401, {}
            status, extra = 204, {}
            if self._script:
                step = self._script[0]
                step.times -= 1
                if step.times <= 0:
                    self._script.popleft()
                status = step.status
                if step.retry_after is not None:
                    extra["Retry-After"] = str(int(step.retry_after))
            self._events.append(Received(path, headers, body, payload, status))
            self._lock.notify_all()
        return status, extra


class _Handler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra = self.receiver.handle(urlsplit(self.path).path, headers, body)
        raw = b"" if status == 204 else json.dumps({"status": status}).encode()
        self.send_response(status)
        for key, value in extra.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(raw)))
        if raw:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(raw)
