"""A file-backed channel for local development and demos: one JSON post per line.

Each line: {"external_id", "text", "created_at", "author": {"handle"}, "url"?}. The
cursor is the number of lines already read, so appending to the file feeds the watch."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from app.core.model import Author, RawPost
from app.core.ports import SourceError
from app.sources.matching import matcher, matches

MAX_LINES_PER_POLL = 1000


class JsonlConnector:
    kind = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(self, terms: Sequence[str], cursor: str | None) -> tuple[list[RawPost], str | None]:
        start = int(cursor or 0)
        try:
            with self.path.open(encoding="utf-8") as fh:
                lines = fh.readlines()
        except OSError as exc:
            raise SourceError(f"file {self.path}: {exc.strerror}") from exc
        chunk = lines[start : start + MAX_LINES_PER_POLL]
        pattern = matcher(terms)
        posts: list[RawPost] = []
        for n, line in enumerate(chunk, start=start + 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                post = RawPost(
                    external_id=str(item["external_id"]),
                    text=str(item["text"]),
                    created_at=datetime.fromisoformat(
                        str(item["created_at"]).replace("Z", "+00:00")
                    ),
                    author=Author(
                        handle=str(item["author"]["handle"]),
                        followers=item["author"].get("followers"),
                    ),
                    channel="file",
                    url=item.get("url"),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise SourceError(f"file {self.path} line {n}: {exc}") from exc
            if matches(pattern, post.text):
                posts.append(post)
        return posts, str(start + len(chunk))
