"""A fake Mastodon instance over real HTTP on loopback: tag timelines, account lookup
and account statuses, in the documented shape.

Shapes and paging follow docs.joinmastodon.org/methods/timelines/ (`GET
/api/v1/timelines/tag/:hashtag`: `max_id`, `since_id`, `min_id` "returns results
immediately newer than this ID", `limit` default 20 max 40, newest first; 404
`{"error": "Record not found"}`), docs.joinmastodon.org/methods/accounts/
(`/api/v1/accounts/lookup?acct=`, `/api/v1/accounts/:id/statuses` with
`exclude_reblogs`; 401 `{"error": "The access token is invalid"}` when the instance
disabled unauthenticated access), docs.joinmastodon.org/entities/Status/ (id, uri, url, created_at,
content as HTML, spoiler_text, account{acct, url, followers_count}, replies_count,
reblogs_count, favourites_count), docs.joinmastodon.org/api/guidelines/ (Link header:
rel="next" = older with max_id, rel="prev" = newer with min_id) and
docs.joinmastodon.org/api/rate-limits/ (X-RateLimit-Limit/-Remaining/-Reset, the
reset an ISO 8601 time; 429 when exhausted)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.fakes.local_server import LocalServer


def snowflake(at: datetime, seq: int = 0) -> str:
    """A Mastodon status id: milliseconds since the epoch shifted left 16 bits."""
    return str((int(at.timestamp() * 1000) << 16) + seq)


def _key(status_id: str) -> tuple[int, str]:
    return (len(status_id), status_id)


def status(
    at: datetime,
    text: str,
    *,
    acct: str = "citizen",
    seq: int = 0,
    host: str = "social.example",
    followers: int = 10,
    tag: str = "metropolice",
    counts: tuple[int, int, int] = (0, 0, 0),
) -> dict[str, Any]:
    """One Status entity (the fields a client reads; the real one has more)."""
    sid = snowflake(at, seq)
    user = acct.split("@")[0]
    home = acct.split("@")[1] if "@" in acct else host
    return {
        "id": sid,
        "uri": f"https://{home}/users/{user}/statuses/{sid}",
        "url": f"https://{home}/@{user}/{sid}",
        "created_at": at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "visibility": "public",
        "language": "en",
        "spoiler_text": "",
        "content": f'<p>{text} <a href="https://{host}/tags/{tag}" class="mention hashtag" '
        f'rel="tag">#<span>{tag}</span></a></p>',
        "replies_count": counts[0],
        "reblogs_count": counts[1],
        "favourites_count": counts[2],
        "reblog": None,
        "tags": [{"name": tag, "url": f"https://{host}/tags/{tag}"}],
        "account": {
            "id": str(abs(hash(acct)) % 10**9),
            "username": user,
            "acct": acct,
            "display_name": user.title(),
            "url": f"https://{home}/@{user}",
            "followers_count": followers,
            "following_count": 1,
            "statuses_count": 1,
            "bot": False,
        },
    }


class FakeMastodon(LocalServer):
    """`tags[name]` and `accounts[acct] = (id, statuses)` are what it serves; set
    `rate_limited` to answer 429 (with `retry_after` seconds), `remaining` and
    `reset_at` to the budget it reports; `requests` lists (path, query) of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, list[dict[str, Any]]] = {}
        self.accounts: dict[str, tuple[str, list[dict[str, Any]]]] = {}
        self.rate_limited = False
        self.retry_after: int | None = 120
        self.remaining = 299
        self.reset_at: datetime | None = None  # X-RateLimit-Reset; default 5 minutes on
        self.requests: list[tuple[str, dict[str, list[str]]]] = []
        self.auth: list[str | None] = []
        self.require_token: str | None = None  # an instance that disabled public timelines
        self._lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
        limit = min(int(query.get("limit", ["20"])[0]), 40)
        ids = [(i, s) for i, s in enumerate(items) if isinstance(s, dict) and "id" in s]
        ordered = sorted(ids, key=lambda p: _key(str(p[1]["id"])))
        if "min_id" in query:  # immediately newer than min_id, oldest first, then flipped
            low = _key(query["min_id"][0])
            chosen = [s for _, s in ordered if _key(str(s["id"])) > low][:limit]
        else:
            newest_first = list(reversed(ordered))
            if "max_id" in query:
                high = _key(query["max_id"][0])
                newest_first = [p for p in newest_first if _key(str(p[1]["id"])) < high]
            if "since_id" in query:
                low = _key(query["since_id"][0])
                newest_first = [p for p in newest_first if _key(str(p[1]["id"])) > low]
            chosen = [s for _, s in newest_first[:limit]]
        return sorted(chosen, key=lambda s: _key(str(s["id"])), reverse=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                reset = fake.reset_at or datetime.now(UTC) + timedelta(minutes=5)
                self.send_header("X-RateLimit-Limit", "300")
                self.send_header("X-RateLimit-Remaining", str(max(fake.remaining, 0)))
                self.send_header("X-RateLimit-Reset", reset.isoformat(timespec="milliseconds"))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                with fake._lock:
                    fake.requests.append((parts.path, query))
                    fake.auth.append(self.headers.get("Authorization"))
                if fake.rate_limited:
                    extra = {"Retry-After": str(fake.retry_after)} if fake.retry_after else {}
                    self._send(429, {"error": "Too many requests"}, extra)
                    return
                if fake.require_token and self.headers.get("Authorization") != (
                    f"Bearer {fake.require_token}"
                ):
                    self._send(401, {"error": "The access token is invalid"})
                    return
                fake.remaining -= 1
                path = parts.path
                if path.startswith("/api/v1/timelines/tag/"):
                    items = fake.tags.get(path.removeprefix("/api/v1/timelines/tag/"))
                elif path == "/api/v1/accounts/lookup":
                    found = fake.accounts.get(query.get("acct", [""])[0])
                    if found is None:
                        self._send(404, {"error": "Record not found"})
                    else:
                        self._send(200, {"id": found[0], "acct": query["acct"][0]})
                    return
                elif path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
                    wanted = path.split("/")[4]
                    items = next((s for i, s in fake.accounts.values() if i == wanted), None)
                else:
                    items = None
                if items is None:
                    self._send(404, {"error": "Record not found"})
                    return
                page = fake._page(items, query)
                links = {}
                if page:
                    url = f"{fake.base}{path}"
                    links["Link"] = (
                        f'<{url}?max_id={page[-1]["id"]}>; rel="next", '
                        f'<{url}?min_id={page[0]["id"]}>; rel="prev"'
                    )
                self._send(200, page, links)

            def log_message(self, *args: object) -> None:
                pass

        return Handler
