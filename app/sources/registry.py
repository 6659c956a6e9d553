"""Channel spec (as stored on a watch) → connector."""

from __future__ import annotations

from pathlib import Path

from app.core.channels import parse_spec
from app.core.ports import SourceConnector
from app.sources.feed import FeedConnector
from app.sources.jsonl import JsonlConnector


class ConnectorRegistry:
    def __init__(self, *, allow_private: bool) -> None:
        self._allow_private = allow_private

    def connector(self, spec: str) -> SourceConnector:
        kind, target = parse_spec(spec)
        if kind == "rss":
            return FeedConnector(target, allow_private=self._allow_private)
        return JsonlConnector(Path(target))
