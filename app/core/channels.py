"""Channel specs a watch can poll: `rss:<feed url>`, `file:<path.jsonl>` and
`mastodon:<instance URL>/tags/TAG` or `/@ACCOUNT` (checked further by the connector),
`bluesky:search`."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote, urlsplit, urlunsplit

KINDS = ("rss", "file", "mastodon", "bluesky")
USAGE = (
    "use rss:<feed url>, file:<path.jsonl>, mastodon:https://INSTANCE/tags/TAG, "
    "mastodon:https://INSTANCE/@ACCOUNT or bluesky:search"
)


class UnknownChannel(ValueError):
    pass


# Raises UnknownChannel for a spec that may not be polled here (syntax and local policy,
# such as the directory file channels are confined to); given by the composition root.
ChannelCheck = Callable[[str], object]


def masked_url(url: str) -> str:
    """The URL with any password replaced by ***: shown to key holders and in logs,
    never the credentials someone put in a feed's or a receiver's URL."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def masked_spec(spec: str) -> str:
    """A channel spec as shown: `rss:https://u:***@host/feed` (the stored spec, with
    its password, is what is fetched)."""
    kind, sep, target = spec.partition(":")
    if kind in ("rss", "mastodon") and sep:
        return f"{kind}{sep}{masked_url(target.strip())}"
    return spec


def redact(text: str, spec: str) -> str:
    """`text` (an error message) with the password of `spec`'s URL replaced by ***,
    as written in the URL and percent-decoded."""
    try:
        password = urlsplit(spec.partition(":")[2].strip()).password
    except ValueError:
        return text
    if not password:
        return text
    for form in {password, unquote(password)}:
        text = text.replace(f":{form}@", ":***@")
    return text


def parse_spec(spec: str) -> tuple[str, str]:
    """`rss:https://x/feed.xml` → ("rss", "https://x/feed.xml"); refuses anything else."""
    kind, sep, target = spec.partition(":")
    target = target.strip()
    shown = masked_spec(spec)
    if not sep or kind not in KINDS or not target:
        raise UnknownChannel(f"channel {shown!r}: {USAGE}")
    if kind == "rss" and not target.startswith(("http://", "https://")):
        raise UnknownChannel(f"channel {shown!r}: a feed needs an http(s) URL")
    if kind == "mastodon" and not target.startswith(("http://", "https://")):
        raise UnknownChannel(f"channel {shown!r}: needs the instance's http(s) URL")
    if kind == "bluesky" and target != "search":
        raise UnknownChannel(f"channel {shown!r}: the Bluesky channel is bluesky:search")
    return kind, target
