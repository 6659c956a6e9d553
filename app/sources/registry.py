"""Channel spec (as stored on a watch) → connector; and whether a spec may be polled."""

from __future__ import annotations

from pathlib import Path

from app.core.channels import parse_spec
from app.core.ports import SourceConnector
from app.sources.feed import FeedConnector
from app.sources.jsonl import JsonlConnector, confine


class ConnectorRegistry:
    """`file_root`: the only directory `file:` channels may read; None turns them off."""

    def __init__(self, *, allow_private: bool, file_root: Path | None = None) -> None:
        self._allow_private = allow_private
        self._file_root = file_root

    def check(self, spec: str) -> None:
        """Refuse (UnknownChannel, naming the channel and why) a spec that cannot be
        polled here: an unknown kind, a feed that is not http(s), a file outside the
        file channel directory. The connector checks the file again on every read."""
        kind, target = parse_spec(spec)
        if kind == "file":
            confine(target, self._file_root)

    def connector(self, spec: str) -> SourceConnector:
        kind, target = parse_spec(spec)
        if kind == "rss":
            return FeedConnector(target, allow_private=self._allow_private)
        return JsonlConnector(target, root=self._file_root)
