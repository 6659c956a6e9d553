"""Bluesky search as a channel (`bluesky:search`): look-back over the watch's terms.

`GET /xrpc/app.bsky.feed.searchPosts` with `q` = one term (as a phrase), `sort=latest`,
`since` and the returned `cursor` (lexicon app.bsky.feed.searchPosts: limit 1-100,
`since` inclusive on the post's sortAt). Public search is switched off
(bluesky-social/atproto#3423), so calls carry an app-password session
(`com.atproto.server.createSession`, kept and renewed with `refreshSession`; a new
login only when that fails, since createSession allows 30 per 5 minutes).

The cursor is a time: the newest sortAt read (never after the poll's `now`). Each poll
searches from OVERLAP before it, because the search index is live and its offsets
drift; ingest drops what it already has (a post's key is its at:// uri). The first
poll looks back FIRST_LOOKBACK. At most MAX_PAGES pages of 100 per term and poll are
read, newest first: past that the older rest of the window is not read (logged).
Bluesky asks that search not be a bot's main feed: this channel is for look-back;
the firehose (Jetstream) is the live path (not built yet)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.core.model import Author, Fetched, RawPost, Rejected
from app.core.ports import SourceError
from app.sources.matching import matcher, matches
from app.sources.rategate import RateGate

log = logging.getLogger(__name__)

PAGE_LIMIT = 100
MAX_BYTES = 10_000_000
MAX_PAGES = 5
OVERLAP = timedelta(minutes=10)
FIRST_LOOKBACK = timedelta(hours=1)
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
CREATE = "/xrpc/com.atproto.server.createSession"
REFRESH = "/xrpc/com.atproto.server.refreshSession"


def _when(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a string")
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _count(view: dict[str, Any], key: str) -> int:
    value = view.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def post_view(view: Any) -> tuple[RawPost, datetime]:
    """One app.bsky.feed.defs#postView → (RawPost, its sortAt estimate: the earlier of
    createdAt and indexedAt). Raises ValueError naming the field that is wrong."""
    if not isinstance(view, dict):
        raise ValueError("post: is not an object")
    uri = view.get("uri")
    if not isinstance(uri, str) or not uri.startswith("at://"):
        raise ValueError("uri: is missing or not an at:// URI")
    author = view.get("author")
    if not isinstance(author, dict) or not isinstance(author.get("handle"), str):
        raise ValueError("author.handle: is missing")
    record = view.get("record")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        raise ValueError("record.text: is missing")
    try:
        created = _when(record.get("createdAt"))
    except ValueError:
        raise ValueError("record.createdAt: is not a date-time") from None
    try:
        indexed = _when(view.get("indexedAt"))
    except ValueError:
        indexed = created
    handle = author["handle"].strip()
    rkey = uri.rstrip("/").rsplit("/", 1)[-1]
    post = RawPost(
        external_id=uri[:200],
        text=record["text"],
        created_at=created,
        author=Author(handle=handle[:200]),  # no follower count in a post view
        channel="bluesky",
        url=f"https://bsky.app/profile/{handle}/post/{rkey}",
        metrics={
            "replies": _count(view, "replyCount"),
            "shares": _count(view, "repostCount") + _count(view, "quoteCount"),
            "likes": _count(view, "likeCount"),
        },
        ref=uri,
    )
    return post, min(created, indexed)


def _wait_until(resp: httpx.Response, now: datetime) -> datetime:
    """`Retry-After` seconds, else `RateLimit-Reset` (unix seconds), else 5 minutes."""
    retry = resp.headers.get("Retry-After", "").strip()
    if retry.isdigit():
        return now + timedelta(seconds=int(retry))
    reset = resp.headers.get("RateLimit-Reset", "").strip()
    if reset.isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    return now + timedelta(minutes=5)


class BlueskySession:
    """The app-password session, shared by every bluesky channel of a process."""

    def __init__(self, api_url: str, handle: str, app_password: str) -> None:
        self.api_url = api_url.rstrip("/")
        self._handle = handle
        self._password = app_password
        self._access: str | None = None
        self._refresh: str | None = None
        self._lock = threading.Lock()

    @property
    def host(self) -> str:
        return urlsplit(self.api_url).netloc

    def _store(self, resp: httpx.Response, what: str) -> str:
        try:
            body = resp.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        if resp.status_code != 200 or not isinstance(body.get("accessJwt"), str):
            said = body.get("error")
            raise SourceError(f"bluesky {what}: HTTP {resp.status_code} ({said or 'no session'})")
        self._access, self._refresh = body["accessJwt"], body.get("refreshJwt")
        return self._access

    def token(self, client: httpx.Client, *, renew: bool = False) -> str:
        """The access token; with `renew`, a fresh one (refreshSession, else a login)."""
        with self._lock:
            if self._access and not renew:
                return self._access
            try:
                if renew and self._refresh:
                    resp = client.post(
                        self.api_url + REFRESH,
                        headers={"Authorization": f"Bearer {self._refresh}"},
                    )
                    if resp.status_code == 200:
                        return self._store(resp, "refreshSession")
                resp = client.post(
                    self.api_url + CREATE,
                    json={"identifier": self._handle, "password": self._password},
                )
            except httpx.HTTPError as exc:
                raise SourceError(f"bluesky login: {exc}") from exc
            if resp.status_code == 429:
                raise SourceError("bluesky createSession: HTTP 429 (30 logins per 5 minutes)")
            return self._store(resp, "createSession")


class BlueskySearchConnector:
    kind = "bluesky"

    def __init__(
        self,
        session: BlueskySession | None,
        *,
        gate: RateGate | None = None,
        timeout: float = 15,
        missing: str = "a Bluesky account",
    ) -> None:
        self._session = session
        self._gate = gate or RateGate()
        self._timeout = timeout
        self._missing = missing

    def _search(self, client: httpx.Client, params: dict[str, Any], now: datetime) -> Any:
        assert self._session is not None
        host = self._session.host
        until = self._gate.closed_until(host, now)
        if until is not None:
            raise SourceError(f"bluesky search: rate limited until {until.isoformat()}")
        resp, body = None, bytearray()
        for renew in (False, True):
            token = self._session.token(client, renew=renew)
            try:
                with client.stream(
                    "GET",
                    self._session.api_url + SEARCH,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                ) as resp:
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > MAX_BYTES:
                            raise SourceError(f"bluesky search: larger than {MAX_BYTES} bytes")
            except httpx.HTTPError as exc:
                raise SourceError(f"bluesky search: {exc}") from exc
            expired = resp.status_code == 400 and b"ExpiredToken" in body
            if resp.status_code != 401 and not expired:
                break
        assert resp is not None
        if resp.status_code == 429:
            until = _wait_until(resp, now)
            self._gate.close(host, until)
            raise SourceError(f"bluesky search: HTTP 429, rate limited until {until.isoformat()}")
        if resp.status_code != 200:
            said = bytes(body[:200]).decode("utf-8", "replace")
            raise SourceError(f"bluesky search: HTTP {resp.status_code} ({said})")
        if resp.headers.get("RateLimit-Remaining", "").strip() == "0":
            self._gate.close(host, _wait_until(resp, now))
        try:
            return json.loads(body)
        except ValueError as exc:
            raise SourceError("bluesky search: not JSON") from exc

    def fetch(
        self, terms: Sequence[str], cursor: str | None, *, now: datetime | None = None
    ) -> Fetched:
        """Posts with any term since OVERLAP before the cursor (FIRST_LOOKBACK on the
        first poll), one search per term; the cursor moves to the newest sortAt read."""
        now = now or datetime.now(UTC)
        if self._session is None:  # the settings were removed after the watch was made
            raise SourceError(f"bluesky search needs {self._missing}")
        start = datetime.fromisoformat(cursor) - OVERLAP if cursor else now - FIRST_LOOKBACK
        since = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        pattern = matcher(terms)
        posts: dict[str, RawPost] = {}
        rejected: list[Rejected] = []
        newest = datetime.fromisoformat(cursor) if cursor else None
        complete = True
        with httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as c:
            for term in [t for t in terms if t.strip()]:
                if self._gate.closed_until(self._session.host, now) and (posts or rejected):
                    complete = False  # out of budget: the other terms wait for the next poll
                    break
                page_cursor: str | None = None
                for page_no in range(1, MAX_PAGES + 1):
                    params = {"q": f'"{term}"', "sort": "latest", "since": since}
                    params["limit"] = str(PAGE_LIMIT)
                    if page_cursor:
                        params["cursor"] = page_cursor
                    body = self._search(c, params, now)
                    views = body.get("posts") if isinstance(body, dict) else None
                    if not isinstance(views, list):
                        raise SourceError("bluesky search: no posts list in the answer")
                    for n, view in enumerate(views, start=1):
                        try:
                            post, sort_at = post_view(view)
                        except ValueError as exc:
                            field, _, reason = str(exc).partition(": ")
                            where = f"{term!r} page {page_no}, item {n}"
                            rejected.append(Rejected(f"post ({where})", field, reason))
                            continue
                        if matches(pattern, post.text):
                            posts.setdefault(post.external_id, post)
                        if sort_at <= now and (newest is None or sort_at > newest):
                            newest = sort_at
                    page_cursor = body.get("cursor")
                    if not views or not isinstance(page_cursor, str) or not page_cursor:
                        break
                    if self._gate.closed_until(self._session.host, now):
                        break
                else:
                    log.warning(
                        "bluesky search %r: more than %d pages since %s; the older rest "
                        "of the window is not read",
                        term,
                        MAX_PAGES,
                        since,
                    )
        moved = newest.isoformat() if newest and complete else cursor
        return Fetched(list(posts.values()), moved, rejected)
