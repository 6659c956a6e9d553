"""RSS 2.0 and Atom feeds as a channel: items not read before that match a term.

The cursor (FeedCursor) is the newest item time taken so far, never later than the
poll's `now`, with tags of the items taken at that time: an item that turns up later
with the cursor's very time is still read. An item dated in the future is held back,
not skipped: it is taken by the first poll after its time has come. An item without a
date is dated by the poll that first reads it; it is read again on every poll (ingest
drops it as a duplicate: the guid is the post's identity) and never moves the cursor.
At most MAX_ITEMS_PER_POLL dated items are taken per poll, oldest first; the rest come
with the next polls. An item with neither guid/id nor link is skipped and reported."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpx
from defusedxml import ElementTree

from app.core.channels import masked_url, redact
from app.core.model import Author, Fetched, RawPost, Rejected
from app.core.ports import SourceError
from app.notify.netguard import UnsafeTarget, check_target
from app.sources.matching import matcher, matches

ATOM = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
_TAGS = re.compile(r"<[^>]+>")
MAX_BYTES = 5_000_000
MAX_ITEMS_PER_POLL = 1000
CURSOR_CHARS = 200  # room in poll_cursors.cursor


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


@dataclass(frozen=True, slots=True)
class FeedItem:
    """One <item> or <entry> as found: `when` is None when it has no (readable) date,
    `external_id` None when it has neither guid/id nor link."""

    position: int  # 1-based, in document order
    external_id: str | None
    text: str
    when: datetime | None
    author: str
    url: str | None

    def name(self) -> str:
        """How a log line names it: its position and the start of its text."""
        return f"item {self.position} ({self.text[:60]!r})"

    def post(self, fallback_when: datetime) -> RawPost:
        assert self.external_id is not None
        return RawPost(
            external_id=self.external_id[:200],
            text=self.text,
            created_at=self.when or fallback_when,
            author=Author(handle=self.author[:200]),
            channel="rss",
            url=self.url,
        )


def _item(
    position: int, ext: str | None, text: str, when: str | None, author: str, url: str | None
) -> FeedItem:
    return FeedItem(
        position,
        ext or url or None,
        " ".join(html.unescape(_TAGS.sub(" ", text)).split()),
        _when(when),
        author,
        url,
    )


def _atom(root: Any) -> Iterator[FeedItem]:
    feed_author = _text(root, f"{ATOM}author/{ATOM}name", f"{ATOM}title") or "feed"
    for n, entry in enumerate(root.iter(f"{ATOM}entry"), start=1):
        link = entry.find(f"{ATOM}link")
        title = _text(entry, f"{ATOM}title")
        summary = _text(entry, f"{ATOM}summary", f"{ATOM}content")
        yield _item(
            n,
            _text(entry, f"{ATOM}id"),
            " ".join(filter(None, [title, summary])),
            _text(entry, f"{ATOM}published", f"{ATOM}updated"),
            _text(entry, f"{ATOM}author/{ATOM}name") or feed_author,
            link.get("href") if link is not None else None,
        )


def _rss(root: Any) -> Iterator[FeedItem]:
    channel = root.find("channel")
    feed_author = (_text(channel, "title") if channel is not None else None) or "feed"
    for n, item in enumerate(root.iter("item"), start=1):
        yield _item(
            n,
            _text(item, "guid"),
            " ".join(filter(None, [_text(item, "title"), _text(item, "description")])),
            _text(item, "pubDate", f"{DC}date"),
            _text(item, "author", f"{DC}creator") or feed_author,
            _text(item, "link"),
        )


def feed_items(body: bytes) -> list[FeedItem]:
    """Every item of an RSS 2.0 or Atom document, in document order."""
    try:
        root = ElementTree.fromstring(body)
    except Exception as exc:  # defusedxml raises several kinds
        raise SourceError(f"not a feed: {type(exc).__name__}") from exc
    return list(_atom(root) if root.tag == f"{ATOM}feed" else _rss(root))


def parse_feed(body: bytes) -> list[RawPost]:
    """The dated items with an identity (guid/id or link) and some text, as posts."""
    return [i.post(i.when) for i in feed_items(body) if i.when and i.external_id and i.text]


def _tag(item: FeedItem) -> str:
    key = item.external_id or f"text:{item.text}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=4).hexdigest()


@dataclass(frozen=True, slots=True)
class FeedCursor:
    """How far a feed has been read: the newest item time taken (`at`, never later
    than the poll's `now`) and short tags of the items taken at that very time, so an
    item that turns up later with the same time is still read. `tags` None means not
    known (a cursor from before tags were kept, or too many to keep): every item at
    `at` is then read again, and ingest drops the ones it already has."""

    at: datetime | None
    tags: frozenset[str] | None = frozenset()

    @classmethod
    def load(cls, text: str | None, now: datetime) -> FeedCursor:
        if not text:
            return cls(None)
        when, _, tags = text.partition(" ")
        at = datetime.fromisoformat(when)
        if at > now:  # stored before cursors were kept to `now`
            return cls(now, None)
        return cls(at, frozenset(tags.split(",")) if tags else None)

    def dump(self) -> str | None:
        if self.at is None:
            return None
        text = f"{self.at.isoformat()} {','.join(sorted(self.tags or ()))}".strip()
        return text if len(text) <= CURSOR_CHARS else self.at.isoformat()

    def read(self, item: FeedItem) -> bool:
        """Whether this dated item was taken by an earlier poll."""
        assert item.when is not None
        if self.at is None or item.when > self.at:
            return False
        return item.when < self.at or (self.tags is not None and _tag(item) in self.tags)


def select_items(
    items: Sequence[FeedItem], terms: Sequence[str], cursor: FeedCursor, now: datetime
) -> tuple[list[RawPost], list[Rejected], FeedCursor]:
    """The posts to ingest this poll, the items to report as skipped, the new cursor.

    Taken: the matching dated items not read before and not after `now`, oldest first,
    at most MAX_ITEMS_PER_POLL of them; and every matching undated one (dated `now`).
    The cursor moves to the newest date taken."""
    pattern = matcher(terms)
    dated: list[FeedItem] = []
    undated: list[FeedItem] = []
    for item in items:
        if not item.text or not matches(pattern, item.text):
            continue
        if item.when is None:
            undated.append(item)
        elif item.when <= now and not cursor.read(item):  # a future one waits its turn
            dated.append(item)
    dated.sort(key=lambda i: i.when or now)
    dated = dated[:MAX_ITEMS_PER_POLL]
    posts: list[RawPost] = []
    rejected: list[Rejected] = []
    for item in [*dated, *undated]:
        if item.external_id is None:
            rejected.append(Rejected(item.name(), "guid", "is missing, and so is the link"))
        else:
            posts.append(item.post(now))
    if not dated:
        return posts, rejected, cursor
    newest = dated[-1].when
    tags: frozenset[str] | None = frozenset(_tag(i) for i in dated if i.when == newest)
    if newest == cursor.at:
        tags = tags if cursor.tags is None else cursor.tags | tags
    return posts, rejected, FeedCursor(newest, tags)


def _credentials(url: str) -> tuple[str, httpx.BasicAuth | None]:
    """A feed URL with `user:password@` → the URL without them, and Basic auth."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])), auth


class FeedConnector:
    """Polls one feed URL. The cursor is an ISO 8601 time (see the module docstring)."""

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

    def _download(self) -> bytes:
        """The feed's body; reading stops (SourceError) once it passes MAX_BYTES."""
        try:
            if self._resolver is None:
                check_target(self.url, allow_private=self._allow_private)
            else:
                check_target(self.url, allow_private=self._allow_private, resolver=self._resolver)
            headers = {"Accept": "application/rss+xml, application/atom+xml"}
            url, auth = _credentials(self.url)  # sent as a header, never logged in the URL
            with (
                httpx.Client(timeout=self._timeout, follow_redirects=False, trust_env=False) as c,
                c.stream("GET", url, headers=headers, auth=auth) as resp,
            ):
                if resp.status_code != 200:
                    raise SourceError(f"feed {masked_url(self.url)}: HTTP {resp.status_code}")
                body = bytearray()
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_BYTES:
                        raise SourceError(
                            f"feed {masked_url(self.url)}: larger than {MAX_BYTES} bytes"
                        )
                return bytes(body)
        except (UnsafeTarget, httpx.HTTPError) as exc:
            raise SourceError(
                redact(f"feed {masked_url(self.url)}: {exc}", f"rss:{self.url}")
            ) from exc

    def fetch(
        self, terms: Sequence[str], cursor: str | None, *, now: datetime | None = None
    ) -> Fetched:
        now = now or datetime.now(UTC)
        items = feed_items(self._download())
        posts, rejected, moved = select_items(items, terms, FeedCursor.load(cursor, now), now)
        return Fetched(posts, moved.dump(), rejected)
