"""Raw post fields → canonical form: text, handles, fingerprints, event time."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from app.core.model import Author, RawPost

_WS = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)

MAX_TEXT_CHARS = 10_000
MAX_ID_CHARS = 200
MAX_HANDLE_CHARS = 200
MAX_URL_CHARS = 2000
MAX_CHANNEL_CHARS = 50
CHANNEL_NAME = r"^[A-Za-z0-9_.\-]+$"
# Counts are stored as 64-bit integers (PostgreSQL bigint, SQLite INTEGER, orjson).
MAX_COUNT = 2**63 - 1
# No NUL character: PostgreSQL text cannot hold one. As a pattern for the API schema.
NO_NUL = r"^[^\x00]*$"
NUL_REASON = "must not contain the NUL character (\\u0000)"
MAX_FUTURE_SKEW = timedelta(minutes=10)
_CHANNEL = re.compile(CHANNEL_NAME)


class InvalidPost(ValueError):
    """A post that cannot be stored; the message says which field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalise_text(text: str) -> str:
    """NFC, no control characters, whitespace folded to single spaces, trimmed."""
    text = unicodedata.normalize("NFC", text)
    if not text.isprintable():  # most posts are: skip the walk over every character
        text = "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in text)
    return _WS.sub(" ", text).strip()


def normalise_handle(handle: str) -> str:
    """`@MetroPolice ` → `metropolice` (handles compare case-insensitively)."""
    return handle.strip().lstrip("@").strip().lower()


def content_fingerprint(text: str) -> str:
    """Same words, same fingerprint: case, URLs and spacing do not matter."""
    canon = _WS.sub(" ", _URL.sub(" ", text.casefold())).strip()
    return hashlib.blake2b(canon.encode("utf-8"), digest_size=16).hexdigest()


def event_time(created_at: datetime, now: datetime, max_age: timedelta | None = None) -> datetime:
    """UTC event time; naive values are taken as UTC; the future is refused, and so is
    anything older than `max_age` when given."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    try:
        created_at = created_at.astimezone(UTC)
    except OverflowError as exc:  # 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise InvalidPost("created_at", "is out of range") from exc
    if created_at > now + MAX_FUTURE_SKEW:
        raise InvalidPost("created_at", "is in the future")
    if max_age is not None and created_at < now - max_age:
        days = max_age // timedelta(days=1)
        raise InvalidPost("created_at", f"is older than {days} days, the longest posts are kept")
    return created_at


def checked_text(text: str) -> str:
    clean = normalise_text(text)
    if not clean:
        raise InvalidPost("text", "is empty")
    if len(clean) > MAX_TEXT_CHARS:
        raise InvalidPost("text", f"is longer than {MAX_TEXT_CHARS} characters")
    return clean


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_COUNT


def checked_url(url: object) -> str | None:
    """None, or an absolute http(s) URL with a host (a `javascript:` link is refused)."""
    if url is None:
        return None
    if not isinstance(url, str):
        raise InvalidPost("url", "must be a string")
    url = url.strip()
    if len(url) > MAX_URL_CHARS:
        raise InvalidPost("url", f"is longer than {MAX_URL_CHARS} characters")
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InvalidPost("url", "must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError as exc:
        raise InvalidPost("url", f"is not a URL ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise InvalidPost("url", "must be an http(s) URL with a host")
    return url


def checked_post(post: RawPost, now: datetime, max_age: timedelta | None = None) -> RawPost:
    """The one set of rules every post passes before it is stored, whether pushed to
    the API or read from a polled channel. Fields that arrive from JSON are checked for
    type too. Returns the post with its fields in canonical form; raises InvalidPost."""
    ext = post.external_id
    if isinstance(ext, int) and not isinstance(ext, bool):
        ext = str(ext)
    if not isinstance(ext, str) or not ext.strip():
        raise InvalidPost("external_id", "is empty" if ext in ("", None) else "must be a string")
    ext = ext.strip()
    if "\x00" in ext:
        raise InvalidPost("external_id", NUL_REASON)
    if len(ext) > MAX_ID_CHARS:
        raise InvalidPost("external_id", f"is longer than {MAX_ID_CHARS} characters")
    handle, followers = post.author.handle, post.author.followers
    if not isinstance(handle, str):
        raise InvalidPost("author.handle", "must be a string")
    if not normalise_handle(handle):
        raise InvalidPost("author.handle", "is empty")
    if len(handle) > MAX_HANDLE_CHARS:
        raise InvalidPost("author.handle", f"is longer than {MAX_HANDLE_CHARS} characters")
    if "\x00" in handle:
        raise InvalidPost("author.handle", NUL_REASON)
    if followers is not None and not _whole(followers):
        raise InvalidPost("author.followers", f"must be a whole number from 0 to {MAX_COUNT}")
    if not isinstance(post.text, str):
        raise InvalidPost("text", "must be a string")
    if not isinstance(post.created_at, datetime):
        raise InvalidPost("created_at", "must be a date-time")
    channel = post.channel.strip().lower() if isinstance(post.channel, str) else None
    if channel is None or len(channel) > MAX_CHANNEL_CHARS or not _CHANNEL.match(channel or "api"):
        raise InvalidPost("channel", f"must be 1-{MAX_CHANNEL_CHARS} of A-Z a-z 0-9 _ . -")
    if not isinstance(post.metrics, Mapping) or not all(
        isinstance(k, str) and _whole(v) for k, v in post.metrics.items()
    ):
        raise InvalidPost("metrics", f"must map names to whole numbers from 0 to {MAX_COUNT}")
    return replace(
        post,
        external_id=ext,
        channel=channel or "api",
        text=checked_text(post.text),
        created_at=event_time(post.created_at, now, max_age),
        url=checked_url(post.url),
        author=Author(handle=handle, followers=followers),
        metrics=dict(post.metrics),
    )
