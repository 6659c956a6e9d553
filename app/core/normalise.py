"""Raw post fields → canonical form: text, handles, fingerprints, event time."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import UTC, datetime, timedelta

_WS = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+", re.IGNORECASE)

MAX_TEXT_CHARS = 10_000
MAX_FUTURE_SKEW = timedelta(minutes=10)


class InvalidPost(ValueError):
    """A post that cannot be stored; the message says which field and why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def normalise_text(text: str) -> str:
    """NFC, no control characters, whitespace folded to single spaces, trimmed."""
    text = unicodedata.normalize("NFC", text)
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
