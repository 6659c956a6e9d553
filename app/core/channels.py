"""Channel specs a watch can poll: `rss:<feed url>` and `file:<path.jsonl>`."""

from __future__ import annotations

KINDS = ("rss", "file")


class UnknownChannel(ValueError):
    pass


def parse_spec(spec: str) -> tuple[str, str]:
    """`rss:https://x/feed.xml` → ("rss", "https://x/feed.xml"); refuses anything else."""
    kind, sep, target = spec.partition(":")
    target = target.strip()
    if not sep or kind not in KINDS or not target:
        raise UnknownChannel(f"channel {spec!r}: use rss:<feed url> or file:<path.jsonl>")
    if kind == "rss" and not target.startswith(("http://", "https://")):
        raise UnknownChannel(f"channel {spec!r}: a feed needs an http(s) URL")
    return kind, target
