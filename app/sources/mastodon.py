"""Mastodon as a channel: a hashtag timeline, or one account's own statuses.

Specs: `mastodon:https://INSTANCE/tags/TAG` reads `GET /api/v1/timelines/tag/:hashtag`
(every status of the tag: the tag is the filter); `mastodon:https://INSTANCE/@ACCOUNT`
looks the account up once per poll (`GET /api/v1/accounts/lookup?acct=`) and reads
`GET /api/v1/accounts/:id/statuses` (boosts left out). API: docs.joinmastodon.org
/methods/timelines/ and /methods/accounts/.

The cursor is the highest status id read. Ids are snowflakes made from a time, and a
status that federates late gets an id from its (older) creation time, so it can land
below a cursor already passed (mastodon PR #5260). Each poll therefore starts OVERLAP
before the cursor (`min_id` = the cursor's time minus OVERLAP, as a snowflake) and
pages forward until an empty page or MAX_PAGES; ingest drops what it already has (the
post's key is the status `uri`, the same on every instance). When more than
OVERLAP_PAGES pages lie in that window, the rest of it is skipped for the statuses after
the cursor, so a busy tag still moves on. A cursor that is not a
Mastodon snowflake (other servers) is used as it is, without overlap.

Rate limits: a 429 (or an earlier `X-RateLimit-Remaining: 0`) raises SourceError with
the time to wait (`Retry-After` seconds, or the ISO 8601 `X-RateLimit-Reset`); the cursor
then stays, and the channel shows the failure. The wait is remembered per instance in
the registry's RateGate, so no poll calls that instance before it is over. A status
without the fields a post needs is skipped and reported; the rest of the page counts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from app.core.channels import UnknownChannel, masked_url
from app.core.model import Author, Fetched, RawPost, Rejected
from app.core.ports import SourceError
from app.notify.netguard import UnsafeTarget, check_target
from app.sources.rategate import RateGate

PAGE_LIMIT = 40  # the API's maximum per page
MAX_PAGES = 10
OVERLAP_PAGES = 5  # at most this many pages re-read below the cursor, so a poll moves on
OVERLAP = timedelta(minutes=10)
MAX_BYTES = 5_000_000
_SNOWFLAKE_EPOCH_MS = 1_483_228_800_000  # 2017-01-01: older numbers are not snowflakes
_TAG = re.compile(r"^[\w]+$", re.UNICODE)
_ACCOUNT = re.compile(r"^[A-Za-z0-9_]+(@[A-Za-z0-9.-]+)?$")


@dataclass(frozen=True, slots=True)
class MastodonTarget:
    """What a spec names: the instance's base URL and a tag or an account."""

    base: str  # scheme://host[:port]
    tag: str | None = None
    account: str | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc


def parse_target(target: str) -> MastodonTarget:
    """`https://mastodon.social/tags/metropolice` or `https://mastodon.social/@metro`;
    raises UnknownChannel naming the channel and what is wrong."""
    name = f"channel 'mastodon:{masked_url(target)}'"
    usage = "use mastodon:https://INSTANCE/tags/TAG or mastodon:https://INSTANCE/@ACCOUNT"
    try:
        parts = urlsplit(target)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError as exc:
        raise UnknownChannel(f"{name}: not a URL ({exc}); {usage}") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnknownChannel(f"{name}: needs an http(s) instance URL; {usage}")
    if parts.query or parts.fragment:
        raise UnknownChannel(f"{name}: no query or fragment; {usage}")
    if parts.username is not None or parts.password is not None:
        raise UnknownChannel(f"{name}: no user or password in the URL; {usage}")
    base = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    if path.startswith("/tags/"):
        tag = path.removeprefix("/tags/").lstrip("#")
        if not _TAG.match(tag):
            raise UnknownChannel(f"{name}: {tag!r} is not a hashtag (letters, digits, _)")
        return MastodonTarget(base, tag=tag)
    if path.startswith("/@"):
        account = path.removeprefix("/@")
        if not _ACCOUNT.match(account):
            raise UnknownChannel(f"{name}: {account!r} is not an account name")
        return MastodonTarget(base, account=account)
    raise UnknownChannel(f"{name}: {usage}")


class _Text(HTMLParser):
    """Status HTML (sanitised by the server: p, br, a, span) → plain text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("br", "p"):
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def plain_text(content: str) -> str:
    parser = _Text()
    parser.feed(content)
    parser.close()
    return " ".join("".join(parser.parts).split())


def id_key(status_id: str) -> tuple[int, str]:
    """Mastodon ids are strings that sort by length, then lexically."""
    return (len(status_id), status_id)


def rewound(cursor: str, overlap: timedelta = OVERLAP) -> str:
    """The snowflake `overlap` before the cursor's time (a Mastodon id is the time in ms
    shifted left 16 bits); a cursor that is not such an id is returned as it is."""
    if not cursor.isdigit():
        return cursor
    ms = int(cursor) >> 16
    if ms < _SNOWFLAKE_EPOCH_MS:
        return cursor
    return str(max(ms - int(overlap.total_seconds() * 1000), 0) << 16)


def _when(value: str) -> datetime:
    when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _count(status: dict[str, Any], key: str) -> int:
    value = status.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def status_post(status: Any, instance_host: str) -> RawPost:
    """One Status entity → RawPost; raises ValueError naming the field that is wrong.
    The author handle is the full `user@host` (a local account's acct has no host: it
    is taken from the account's profile URL, else the instance's)."""
    if not isinstance(status, dict):
        raise ValueError("status: is not an object")
    for key in ("id", "uri", "created_at", "content"):
        if not isinstance(status.get(key), str) or (key != "content" and not status[key]):
            raise ValueError(f"{key}: is missing or not a string")
    account = status.get("account")
    if not isinstance(account, dict) or not isinstance(account.get("acct"), str):
        raise ValueError("account.acct: is missing")
    try:
        created_at = _when(status["created_at"])
    except ValueError:
        raise ValueError("created_at: is not an ISO 8601 date-time") from None
    acct = account["acct"].strip().lstrip("@")
    if not acct:
        raise ValueError("account.acct: is empty")
    if "@" not in acct:
        profile = account.get("url")
        host = urlsplit(profile).hostname if isinstance(profile, str) else None
        acct = f"{acct}@{host or instance_host}"
    followers = account.get("followers_count")
    text = plain_text(status["content"])
    spoiler = status.get("spoiler_text")
    if isinstance(spoiler, str) and spoiler.strip():
        text = f"{spoiler.strip()} {text}".strip()
    url = status.get("url")
    return RawPost(
        external_id=status["uri"][:200],
        text=text,
        created_at=created_at,
        author=Author(
            handle=acct[:200],
            followers=followers if isinstance(followers, int) and followers >= 0 else None,
        ),
        channel="mastodon",
        url=url if isinstance(url, str) else status["uri"],
        metrics={
            "replies": _count(status, "replies_count"),
            "shares": _count(status, "reblogs_count"),
            "likes": _count(status, "favourites_count"),
        },
        ref=f"status {status['id']}",
    )


def _wait_until(resp: httpx.Response, now: datetime) -> datetime | None:
    """When a rate-limited instance may be called again: `Retry-After` (seconds or an
    HTTP date), else `X-RateLimit-Reset` (ISO 8601 on Mastodon); None if neither."""
    retry = resp.headers.get("Retry-After")
    if retry:
        if retry.strip().isdigit():
            return now + timedelta(seconds=int(retry))
        try:
            return parsedate_to_datetime(retry).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    reset = resp.headers.get("X-RateLimit-Reset")
    if reset:
        try:
            return _when(reset.strip())
        except ValueError:
            pass
    return None


def _why(status_code: int, body: bytes | bytearray) -> str:
    """The API's own `{"error": ...}` text, and what to do about a 401."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    said = answer.get("error") if isinstance(answer, dict) else None
    out = f" ({str(said)[:200]})" if said else ""
    if status_code == 401:
        out += (
            "; this instance wants a token: set GROUNDSWELL_MASTODON_TOKEN and "
            "GROUNDSWELL_MASTODON_TOKEN_HOST"
        )
    return out


class MastodonConnector:
    kind = "mastodon"

    def __init__(
        self,
        target: str,
        *,
        allow_private: bool,
        token: str | None = None,
        gate: RateGate | None = None,
        timeout: float = 15,
    ) -> None:
        self.target = parse_target(target)
        self._allow_private = allow_private
        self._token = token
        self._gate = gate or RateGate()
        self._timeout = timeout

    def _name(self) -> str:
        return f"mastodon {self.target.base}"

    def _get(self, client: httpx.Client, path: str, params: dict[str, Any], now: datetime) -> Any:
        host = self.target.host
        until = self._gate.closed_until(host, now)
        if until is not None:
            raise SourceError(f"{self._name()}: rate limited until {until.isoformat()}")
        headers = {"Accept": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            with client.stream(
                "GET", f"{self.target.base}{path}", params=params, headers=headers
            ) as resp:
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise SourceError(f"{self._name()}{path}: larger than {MAX_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise SourceError(f"{self._name()}: {exc}") from exc
        if resp.status_code == 429:
            until = _wait_until(resp, now) or now + timedelta(minutes=5)
            self._gate.close(host, until)
            raise SourceError(f"{self._name()}: HTTP 429, rate limited until {until.isoformat()}")
        if resp.status_code != 200:
            raise SourceError(
                f"{self._name()}{path}: HTTP {resp.status_code}{_why(resp.status_code, body)}"
            )
        if resp.headers.get("X-RateLimit-Remaining", "").strip() == "0":
            self._gate.close(host, _wait_until(resp, now) or now + timedelta(minutes=5))
        try:
            return json.loads(body)
        except ValueError as exc:
            raise SourceError(f"{self._name()}{path}: not JSON") from exc

    def _account_id(self, client: httpx.Client, now: datetime) -> str:
        found = self._get(client, "/api/v1/accounts/lookup", {"acct": self.target.account}, now)
        if not isinstance(found, dict) or not isinstance(found.get("id"), str):
            raise SourceError(f"{self._name()}: account lookup gave no id")
        return str(found["id"])

    def fetch(
        self, terms: Sequence[str], cursor: str | None, *, now: datetime | None = None
    ) -> Fetched:
        """Statuses from OVERLAP before the cursor on (the newest page when there is
        no cursor yet), oldest page first. `terms` are not applied: the tag or the
        account is the filter."""
        now = now or datetime.now(UTC)
        try:
            check_target(self.target.base, allow_private=self._allow_private)
        except UnsafeTarget as exc:
            raise SourceError(f"{self._name()}: {exc}") from exc
        posts: list[RawPost] = []
        rejected: list[Rejected] = []
        newest = cursor
        with httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as c:
            if self.target.tag is not None:
                path = f"/api/v1/timelines/tag/{quote(self.target.tag)}"
                params: dict[str, Any] = {"limit": PAGE_LIMIT}
            else:
                path = f"/api/v1/accounts/{quote(self._account_id(c, now))}/statuses"
                params = {"limit": PAGE_LIMIT, "exclude_reblogs": "true"}
            min_id = rewound(cursor) if cursor else None
            for page_no in range(1, MAX_PAGES + 1):
                query = {**params, "min_id": min_id} if min_id else params
                page = self._get(c, path, query, now)
                if not isinstance(page, list):
                    raise SourceError(f"{self._name()}{path}: not a list of statuses")
                ids = [
                    s["id"] for s in page if isinstance(s, dict) and isinstance(s.get("id"), str)
                ]
                for n, status in enumerate(page, start=1):
                    try:
                        posts.append(status_post(status, self.target.host))
                    except ValueError as exc:
                        field, _, reason = str(exc).partition(": ")
                        sid = status.get("id") if isinstance(status, dict) else None
                        name = f"status {sid or '?'} (page {page_no}, item {n})"
                        rejected.append(Rejected(name, field, reason))
                if ids:
                    top = max(ids, key=id_key)
                    if newest is None or id_key(top) > id_key(newest):
                        newest = top
                if not ids or min_id is None or self._gate.closed_until(self.target.host, now):
                    break  # caught up, first poll (newest page only), or out of budget
                min_id = max(ids, key=id_key)
                if cursor and page_no >= OVERLAP_PAGES and id_key(min_id) < id_key(cursor):
                    min_id = cursor  # a window too busy to re-read whole: go on from the cursor
        return Fetched(posts, newest, rejected)
