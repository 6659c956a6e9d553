"""Retention: drop what no baseline or person needs any more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from app.db.tables import Alert, OutboxMessage, Post, SlackMessageRef, VolumeBucket

# The detector learns from at most 28 days; a week more keeps evidence and samples.
KEEP_POSTS = timedelta(days=35)
KEEP_BUCKETS = timedelta(days=35)
KEEP_SENT = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Pruned:
    posts: int
    buckets: int
    outbox: int
    slack_refs: int = 0


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
    # A Slack ref outlives its alert (a deleted watch's last notices edit the message);
    # once nothing for the alert is pending, it has no more use.
    refs = session.execute(
        delete(SlackMessageRef).where(
            ~exists(select(Alert.id).where(Alert.id == SlackMessageRef.alert_id)),
            ~exists(
                select(OutboxMessage.id).where(
                    OutboxMessage.alert_id == SlackMessageRef.alert_id,
                    OutboxMessage.state == "pending",
                )
            ),
        )
    )
    return Pruned(
        posts.rowcount or 0,  # type: ignore[attr-defined]
        buckets.rowcount or 0,  # type: ignore[attr-defined]
        outbox.rowcount or 0,  # type: ignore[attr-defined]
        refs.rowcount or 0,  # type: ignore[attr-defined]
    )
