"""RSS 2.0 and Atom feeds as a channel: items newer than the cursor that match a term."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from defusedxml import ElementTree

from app.core.model import Author, Fetched, RawPost
from app.core.ports import SourceError
from app.notify.netguard import UnsafeTarget, check_target
from app.sources.matching import matcher, matches

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
_TAGS = re.compile(r"<[^>]+>")
MAX_BYTES = 5_000_000


def _text(el: Any, *names: str) -> str | None:
    for name in names:
        found = el.find(name)
        if found is not None and (found.text or "").strip():
            return found.text.strip()
    return None


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_feed(body: bytes) -> list[RawPost]:
    """Items of an RSS 2.0 or Atom document as posts (those without a date are skipped)."""
    try:
        root = ElementTree.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds
        raise SourceError(f"not a feed: {type(exc).__name__}") from exc
    posts: list[RawPost] = []
    if root.tag == f"{ATOM}feed":
        feed_author = _text(root, f"{ATOM}author/{ATOM}name", f"{ATOM}title") or "feed"
        for entry in root.iter(f"{ATOM}entry"):
            link = entry.find(f"{ATOM}link")
            url = link.get("href") if link is not None else None
            posts.append(
                _post(
                    _text(entry, f"{ATOM}id") or url,
                    " ".join(
                        filter(
                            None,
                            [
                                _text(entry, f"{ATOM}title"),
                                _text(entry, f"{ATOM}summary", f"{ATOM}content"),
                            ],
                        )
                    ),
                    _when(_text(entry, f"{ATOM}published", f"{ATOM}updated")),
                    _text(entry, f"{ATOM}author/{ATOM}name") or feed_author,
                    url,
                )
            )
    else:
        channel = root.find("channel")
        feed_author = _text(channel, "title") if channel is not None else None
        for item in root.iter("item"):
            url = _text(item, "link")
            posts.append(
                _post(
                    _text(item, "guid") or url,
                    " ".join(filter(None, [_text(item, "title"), _text(item, "description")])),
                    _when(_text(item, "pubDate", f"{DC}date")),
                    _text(item, "author", f"{DC}creator") or feed_author or "feed",
                    url,
                )
            )
    return [p for p in posts if p is not None]  # type: ignore[misc]


def _post(
    ext: str | None, text: str, when: datetime | None, author: str, url: str | None
) -> RawPost | None:
    text = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
    if not ext or not text or when is None:
        return None
    return RawPost(
        external_id=ext[:200],
        text=text,
        created_at=when,
        author=Author(handle=author[:200]),
        channel="rss",
        url=url,
    )


class FeedConnector:
    """Polls one feed URL. The cursor is the newest item time seen (ISO 8601)."""

    kind = "rss"

    def __init__(
        self,
        url: str,
        *,
        allow_private: bool,
        timeout: float = 15,
        resolver: Callable[..., Any] | None = None,
    ) -> None:
        self.url = url
        self._allow_private = allow_private
        self._timeout = timeout
        self._resolver = resolver

    def fetch(self, terms: Sequence[str], cursor: str | None) -> Fetched:
        try:
            if self._resolver is None:
                check_target(self.url, allow_private=self._allow_private)
            else:
                check_target(self.url, allow_private=self._allow_private, resolver=self._resolver)
            with httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as c:
                resp = c.get(
                    self.url, headers={"Accept": "application/rss+xml, application/atom+xml"}
                )
        except (UnsafeTarget, httpx.HTTPError) as exc:
            raise SourceError(f"feed {self.url}: {exc}") from exc
        if resp.status_code != 200:
            raise SourceError(f"feed {self.url}: HTTP {resp.status_code}")
        if len(resp.content) > MAX_BYTES:
            raise SourceError(f"feed {self.url}: larger than {MAX_BYTES} bytes")
        since = datetime.fromisoformat(cursor) if cursor else None
        pattern = matcher(terms)
        posts = [
            p
            for p in parse_feed(resp.content)
            if (since is None or p.created_at > since) and matches(pattern, p.text)
        ]
        newest = max((p.created_at for p in posts), default=since)
        return Fetched(posts, newest.isoformat() if newest else cursor)
