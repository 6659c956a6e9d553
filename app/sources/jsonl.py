"""A file-backed channel for local development and demos: one JSON post per line.

Each line: {"external_id", "text", "created_at", "author": {"handle", "followers"?},
"url"?}. The cursor is the number of lines already read, so appending to the file
feeds the watch. A line that is not a post is reported and skipped, so it never blocks
the lines after it; an unfinished last line (no newline yet and not valid JSON) is
left for the next poll. Files are read only from inside the configured directory."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from app.core.channels import UnknownChannel
from app.core.model import Author, Fetched, RawPost, Rejected
from app.core.normalise import InvalidPost
from app.core.ports import SourceError
from app.sources.matching import matcher, matches

MAX_LINES_PER_POLL = 1000
DIR_SETTING = "GROUNDSWELL_FILE_CHANNEL_DIR"


def confine(target: str, root: Path | None) -> Path:
    """The file a `file:` channel names, with `..` and symlinks resolved, which must lie
    inside `root` (relative paths are taken from `root`). Raises UnknownChannel."""
    name = f"channel 'file:{target}'"
    if root is None:
        raise UnknownChannel(f"{name}: file channels are off; set {DIR_SETTING}")
    try:
        base = root.resolve()
        path = (base / target).resolve()
    except (OSError, ValueError, RuntimeError) as exc:
        raise UnknownChannel(f"{name}: not a usable path ({exc})") from exc
    if not path.is_relative_to(base):
        raise UnknownChannel(f"{name}: resolves outside the file channel directory ({DIR_SETTING})")
    return path


def _post(line: bytes, ref: str) -> RawPost:
    """One line → RawPost. Only the shape is checked here; the field rules are those of
    every post (core.normalise.checked_post, applied at ingest)."""
    try:
        item: Any = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InvalidPost("line", "is not UTF-8") from exc
    except json.JSONDecodeError as exc:
        raise InvalidPost("line", f"is not JSON ({exc.msg}, column {exc.colno})") from exc
    if not isinstance(item, dict):
        raise InvalidPost("line", "is not a JSON object")
    author = item.get("author")
    if not isinstance(author, dict):
        raise InvalidPost("author", "must be an object with a handle")
    required = {k: item.get(k) for k in ("external_id", "text", "created_at")}
    for key, value in {**required, "author.handle": author.get("handle")}.items():
        if value is None:
            raise InvalidPost(key, "is missing")
    try:
        created_at = datetime.fromisoformat(str(item["created_at"]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidPost("created_at", "is not an ISO 8601 date-time") from exc
    return RawPost(
        external_id=item["external_id"],
        text=item["text"],
        created_at=created_at,
        author=Author(handle=author["handle"], followers=author.get("followers")),
        channel="file",
        url=item.get("url"),
        ref=ref,
    )


class JsonlConnector:
    kind = "file"

    def __init__(self, target: str | Path, *, root: Path | None) -> None:
        self.target = str(target)
        self.root = root

    def fetch(
        self, terms: Sequence[str], cursor: str | None, *, now: datetime | None = None
    ) -> Fetched:
        """Up to MAX_LINES_PER_POLL lines after the cursor (`now` is not needed: the
        cursor counts lines, and a line dated in the future is skipped at ingest)."""
        try:
            path = confine(self.target, self.root)
        except UnknownChannel as exc:
            raise SourceError(str(exc)) from exc
        start = int(cursor or 0)
        try:
            lines = path.read_bytes().splitlines(keepends=True)
        except OSError as exc:
            raise SourceError(f"file {self.target}: {exc.strerror}") from exc
        chunk = lines[start : start + MAX_LINES_PER_POLL]
        if chunk and not chunk[-1].endswith((b"\n", b"\r")):
            try:
                json.loads(chunk[-1])
            except ValueError:
                chunk = chunk[:-1]  # still being written: read it whole next time
        pattern = matcher(terms)
        posts: list[RawPost] = []
        rejected: list[Rejected] = []
        for n, line in enumerate(chunk, start=start + 1):
            if not line.strip():
                continue
            try:
                post = _post(line, f"line {n}")
            except InvalidPost as exc:
                rejected.append(Rejected(f"line {n}", exc.field, exc.reason))
                continue
            if not isinstance(post.text, str) or matches(pattern, post.text):
                posts.append(post)  # a text of the wrong type is judged (refused) at ingest
        return Fetched(posts, str(start + len(chunk)), rejected)
