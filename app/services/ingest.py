"""Ingest a batch of posts for one watch: normalise, dedup, classify, store, count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.buckets import fold
from app.core.model import OwnPost, PostLabels, RawPost
from app.core.normalise import (
    InvalidPost,
    checked_text,
    content_fingerprint,
    event_time,
    normalise_handle,
)
from app.core.parody import ParodyIndex
from app.core.ports import Classifier
from app.db.repos import buckets as buckets_repo
from app.db.repos import posts as posts_repo
from app.db.repos import watches as watches_repo
from app.db.tables import Watch
from app.services.retention import KEEP_POSTS

OWN_POSTS_LOOKBACK = timedelta(days=30)
MAX_BATCH = 1000


class BatchRejected(ValueError):
    """One item is malformed; nothing of the batch is stored."""

    def __init__(self, index: int, field: str, reason: str) -> None:
        super().__init__(f"posts[{index}].{field}: {reason}")
        self.index = index
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: int


def _checked(
    raw_posts: Sequence[RawPost], now: datetime, max_age: timedelta | None
) -> list[RawPost]:
    if len(raw_posts) > MAX_BATCH:
        raise BatchRejected(MAX_BATCH, "posts", f"at most {MAX_BATCH} posts per call")
    clean: list[RawPost] = []
    for i, post in enumerate(raw_posts):
        try:
            if not post.external_id.strip():
                raise InvalidPost("external_id", "is empty")
            if not normalise_handle(post.author.handle):
                raise InvalidPost("author.handle", "is empty")
            clean.append(
                replace(
                    post,
                    external_id=post.external_id.strip(),
                    channel=post.channel.strip().lower() or "api",
                    text=checked_text(post.text),
                    created_at=event_time(post.created_at, now, max_age),
                )
            )
        except InvalidPost as exc:
            raise BatchRejected(i, exc.field, exc.reason) from exc
    return clean


def ingest_batch(
    session: Session,
    *,
    watch: Watch,
    raw_posts: Sequence[RawPost],
    classifier: Classifier,
    now: datetime,
    refuse_expired: bool = False,
) -> IngestResult:
    """Store the new posts of a batch with their labels and count them by event time.

    Idempotent: (watch, channel, external_id) seen before is a duplicate and changes
    nothing. Posts by the watch's own handles are kept (parodies are measured against
    them) but not counted as mentions.

    With `refuse_expired` (posts pushed by a person), a post older than the retention
    window refuses the batch rather than being stored and pruned unseen; a poll keeps
    it off (one old post in a fetched page must not stall the channel's cursor)."""
    posts = _checked(raw_posts, now, KEEP_POSTS if refuse_expired else None)
    seen: set[tuple[str, str]] = set()
    unique: list[RawPost] = []
    for post in posts:
        key = (post.channel, post.external_id)
        if key not in seen:
            seen.add(key)
            unique.append(post)
    known = posts_repo.existing_keys(session, watch.id, list(seen))
    fresh = [p for p in unique if (p.channel, p.external_id) not in known]
    if not fresh:
        return IngestResult(accepted=0, duplicates=len(posts))

    own_handles = {normalise_handle(h) for h in watch.own_handles}
    is_own = [normalise_handle(p.author.handle) in own_handles for p in fresh]
    labels = classifier.classify([p.text for p in fresh])
    own_posts = posts_repo.recent_own_posts(session, watch.id, now - OWN_POSTS_LOOKBACK)
    own_posts += [
        OwnPost(id=f"{p.channel}:{p.external_id}", text=p.text)
        for p, own in zip(fresh, is_own, strict=True)
        if own
    ]
    index = ParodyIndex.build(own_posts)

    rows = []
    final_labels: list[PostLabels] = []
    for post, label, own in zip(fresh, labels, is_own, strict=True):
        parody_of = None
        if not own and own_posts:
            verdict = index.score(post.text, label)
            label = replace(label, parody=verdict.is_parody, parody_score=verdict.score)
            parody_of = verdict.own_post_id if verdict.is_parody else None
        final_labels.append(label)
        rows.append(_row(watch.id, post, label, own, parody_of, now))

    inserted = posts_repo.insert_new(session, rows)
    counted = [
        (post.created_at, label)
        for post, label, own in zip(fresh, final_labels, is_own, strict=True)
        if not own and (post.channel, post.external_id) in inserted
    ]
    tallies = fold(counted)
    buckets_repo.increment(session, watch.id, tallies)
    next_bucket = watch.detector_next_bucket
    stale = bool(tallies) and next_bucket is not None and min(tallies) < next_bucket
    if inserted:
        watches_repo.mark_dirty(session, watch.id, stale=stale, now=now)
    return IngestResult(accepted=len(inserted), duplicates=len(posts) - len(inserted))


def _row(
    watch_id: str, post: RawPost, label: PostLabels, own: bool, parody_of: str | None, now: datetime
) -> dict[str, object]:
    return {
        "watch_id": watch_id,
        "channel": post.channel,
        "external_id": post.external_id,
        "text": post.text,
        "fingerprint": content_fingerprint(post.text),
        "created_at": post.created_at,
        "ingested_at": now,
        "url": post.url,
        "author_handle": normalise_handle(post.author.handle),
        "author_followers": post.author.followers,
        "metrics": dict(post.metrics),
        "is_own": own,
        "sentiment": str(label.sentiment),
        "p_negative": label.p_negative,
        "p_neutral": label.p_neutral,
        "p_positive": label.p_positive,
        "irony": label.irony,
        "p_irony": label.p_irony,
        "offensive": label.offensive,
        "p_offensive": label.p_offensive,
        "parody": label.parody,
        "parody_score": label.parody_score,
        "parody_of": parody_of,
    }
