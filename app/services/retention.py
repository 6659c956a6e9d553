"""Retention: drop what no baseline or person needs any more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from app.db.tables import OutboxMessage, Post, VolumeBucket

# The detector learns from at most 28 days; a week more keeps evidence and samples.
KEEP_POSTS = timedelta(days=35)
KEEP_BUCKETS = timedelta(days=35)
KEEP_SENT = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Pruned:
    posts: int
    buckets: int
    outbox: int


def prune(session: Session, now: datetime) -> Pruned:
    posts = session.execute(delete(Post).where(Post.created_at < now - KEEP_POSTS))
    buckets = session.execute(
        delete(VolumeBucket).where(VolumeBucket.bucket_start < now - KEEP_BUCKETS)
    )
    outbox = session.execute(
        delete(OutboxMessage).where(
            OutboxMessage.state == "sent", OutboxMessage.created_at < now - KEEP_SENT
        )
    )
    return Pruned(posts.rowcount or 0, buckets.rowcount or 0, outbox.rowcount or 0)  # type: ignore[attr-defined]
