"""Channel specs a watch can poll: `rss:<feed url>`, `file:<path.jsonl>` and
`mastodon:<instance URL>/tags/TAG` or `/@ACCOUNT` (checked further by the connector),
`bluesky:search`."""

from __future__ import annotations

from collections.abc import Callable

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


def parse_spec(spec: str) -> tuple[str, str]:
    """`rss:https://x/feed.xml` → ("rss", "https://x/feed.xml"); refuses anything else."""
    kind, sep, target = spec.partition(":")
    target = target.strip()
    if not sep or kind not in KINDS or not target:
        raise UnknownChannel(f"channel {spec!r}: {USAGE}")
    if kind == "rss" and not target.startswith(("http://", "https://")):
        raise UnknownChannel(f"channel {spec!r}: a feed needs an http(s) URL")
    if kind == "mastodon" and not target.startswith(("http://", "https://")):
        raise UnknownChannel(f"channel {spec!r}: needs the instance's http(s) URL")
    if kind == "bluesky" and target != "search":
        raise UnknownChannel(f"channel {spec!r}: the Bluesky channel is bluesky:search")
    return kind, target
