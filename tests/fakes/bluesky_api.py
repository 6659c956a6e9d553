"""A fake Bluesky PDS over real HTTP on loopback: app-password sessions and post search.

Shapes: lexicon app.bsky.feed.searchPosts (docs.bsky.app/docs/api/app-bsky-feed-search-posts:
`q`, `sort` top|latest, `since` inclusive on sortAt, `limit` 1-100 default 25, opaque
`cursor`; output `{cursor?, hitsTotal?, posts: [postView]}`), app.bsky.feed.defs#postView
(uri, cid, author{did, handle, displayName}, record{$type, text, createdAt, langs},
replyCount, repostCount, likeCount, quoteCount, indexedAt),
com.atproto.server.createSession / refreshSession (docs.bsky.app/docs/api/
com-atproto-server-create-session: `{identifier, password}` → `{accessJwt, refreshJwt,
handle, did}`; refresh authenticates with the refreshJwt; an expired access token
answers 400 `{"error": "ExpiredToken"}`), and docs.bsky.app/docs/advanced-guides/
rate-limits (429 with `RateLimit-Limit/-Remaining/-Reset`, the reset in unix seconds).
The cursor here is an offset into the result list, as Bluesky's is in practice."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_server import LocalServer


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def post(
    at: datetime,
    text: str,
    *,
    handle: str = "someone.bsky.social",
    rkey: str = "3kabc",
    indexed_at: datetime | None = None,
    counts: tuple[int, int, int, int] = (0, 0, 0, 0),
) -> dict[str, Any]:
    """One postView (replies, reposts, likes, quotes)."""
    did = f"did:plc:{abs(hash(handle)) % 10**12:012d}"
    return {
        "uri": f"at://{did}/app.bsky.feed.post/{rkey}",
        "cid": f"bafyrei{rkey}",
        "author": {"did": did, "handle": handle, "displayName": handle.split(".")[0]},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": _iso(at),
            "langs": ["en"],
        },
        "replyCount": counts[0],
        "repostCount": counts[1],
        "likeCount": counts[2],
        "quoteCount": counts[3],
        "indexedAt": _iso(indexed_at or at),
        "labels": [],
    }


def _sort_at(view: dict[str, Any]) -> datetime:
    created = datetime.fromisoformat(view["record"]["createdAt"].replace("Z", "+00:00"))
    indexed = datetime.fromisoformat(view["indexedAt"].replace("Z", "+00:00"))
    return min(created, indexed)


class FakeBluesky(LocalServer):
    """`posts` is the index searched (filtered by `q` as a phrase, case-insensitive);
    `handle`/`password` the one account; `expire_access` makes the current access token
    expired; `rate_limited` answers 429; `remaining`/`reset_at` the budget reported."""

    def __init__(self, handle: str = "watcher.bsky.social", password: str = "abcd-efgh") -> None:
        super().__init__()
        self.handle, self.password = handle, password
        self.posts: list[Any] = []
        self.logins = 0
        self.refreshes = 0
        self.searches: list[dict[str, list[str]]] = []
        self.expire_access = False
        self.rate_limited = False
        self.remaining = 2999
        self.reset_at: datetime | None = None
        self._access: str | None = None
        self._refresh: str | None = None
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _issue(self) -> dict[str, str]:
        n = self.logins + self.refreshes
        self._access, self._refresh = f"access-{n}", f"refresh-{n}"
        self.expire_access = False
        return {
            "accessJwt": self._access,
            "refreshJwt": self._refresh,
            "handle": self.handle,
            "did": "did:plc:watcher",
        }

    def _search(self, query: dict[str, list[str]]) -> dict[str, Any]:
        phrase = query["q"][0].strip('"').lower()
        since = query.get("since", [None])[0]
        low = datetime.fromisoformat(since.replace("Z", "+00:00")) if since else None

        def ok(p: Any) -> bool:
            return isinstance(p, dict) and isinstance(p.get("record"), dict) and "indexedAt" in p

        hits = [
            p
            for p in self.posts
            if ok(p)
            and phrase in str(p["record"].get("text", "")).lower()
            and (low is None or _sort_at(p) >= low)
        ]
        hits.sort(key=_sort_at, reverse=True)  # sort=latest: newest first
        hits = [p for p in self.posts if not ok(p)] + hits  # broken ones come first
        limit = min(int(query.get("limit", ["25"])[0]), 100)
        start = int(query.get("cursor", ["0"])[0])
        page = hits[start : start + limit]
        out: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if start + limit < len(hits):
            out["cursor"] = str(start + limit)
        return out

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: Any, extra: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                reset = fake.reset_at or datetime.now(UTC)
                self.send_header("RateLimit-Limit", "3000")
                self.send_header("RateLimit-Remaining", str(max(fake.remaining, 0)))
                self.send_header("RateLimit-Reset", str(int(reset.timestamp()) + 300))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _bearer(self) -> str | None:
                auth = self.headers.get("Authorization", "")
                return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path
                with fake._lock:
                    if path == "/xrpc/com.atproto.server.createSession":
                        body = json.loads(raw or b"{}")
                        if (body.get("identifier"), body.get("password")) != (
                            fake.handle,
                            fake.password,
                        ):
                            self._send(
                                401,
                                {
                                    "error": "AuthenticationRequired",
                                    "message": "Invalid identifier or password",
                                },
                            )
                            return
                        fake.logins += 1
                        self._send(200, fake._issue())
                    elif path == "/xrpc/com.atproto.server.refreshSession":
                        if fake._refresh is None or self._bearer() != fake._refresh:
                            self._send(400, {"error": "ExpiredToken", "message": "Token expired"})
                            return
                        fake.refreshes += 1
                        self._send(200, fake._issue())
                    else:
                        self._send(404, {"error": "MethodNotImplemented"})

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                if parts.path != "/xrpc/app.bsky.feed.searchPosts":
                    self._send(404, {"error": "MethodNotImplemented"})
                    return
                with fake._lock:
                    fake.searches.append(query)
                    if fake.rate_limited:
                        self._send(429, {"error": "RateLimitExceeded"}, {"Retry-After": "60"})
                        return
                    if self._bearer() is None or self._bearer() != fake._access:
                        self._send(
                            401, {"error": "AuthMissing", "message": "Authentication Required"}
                        )
                        return
                    if fake.expire_access:
                        self._send(400, {"error": "ExpiredToken", "message": "Token has expired"})
                        return
                    fake.remaining -= 1
                    self._send(200, fake._search(query))

            def log_message(self, *args: object) -> None:
                pass

        return Handler
