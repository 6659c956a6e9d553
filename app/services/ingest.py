"""Ingest a batch of posts for one watch: normalise, dedup, classify, store, count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.buckets import fold
from app.core.model import OwnPost, PostLabels, RawPost, Rejected
from app.core.normalise import (
    InvalidPost,
    checked_post,
    content_fingerprint,
    normalise_handle,
)
from app.core.parody import ParodyIndex, ParodyVerdict, score_batch
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
    rejected: tuple[Rejected, ...] = ()


def _checked(
    raw_posts: Sequence[RawPost], now: datetime, max_age: timedelta | None
) -> list[RawPost]:
    if len(raw_posts) > MAX_BATCH:
        raise BatchRejected(MAX_BATCH, "posts", f"at most {MAX_BATCH} posts per call")
    clean: list[RawPost] = []
    for i, post in enumerate(raw_posts):
        try:
            clean.append(checked_post(post, now, max_age))
        except InvalidPost as exc:
            raise BatchRejected(i, exc.field, exc.reason) from exc
    return clean


def _name(post: RawPost, index: int) -> str:
    """How a log line names a skipped item: its id (quoted, cut short) and where it sits."""
    ext = "" if post.external_id is None else str(post.external_id).strip()
    name = f"external_id {ext[:80]!r}" if ext else f"item {index}"
    return f"{name} ({post.ref})" if post.ref else name


def ingest_batch(
    session: Session,
    *,
    watch: Watch,
    raw_posts: Sequence[RawPost],
    classifier: Classifier,
    now: datetime,
    refuse_expired: bool = False,
) -> IngestResult:
    """All or nothing, for pushed batches: one malformed item refuses the whole batch
    (BatchRejected names its index and field), so the client can fix it and resend.

    With `refuse_expired` (posts pushed by a person), a post older than the retention
    window refuses the batch rather than being stored and pruned unseen; a poll keeps
    old posts (they are pruned later, and must not stall the channel's cursor)."""
    posts = _checked(raw_posts, now, KEEP_POSTS if refuse_expired else None)
    return _store(session, watch, posts, classifier, now)


def ingest_items(
    session: Session,
    *,
    watch: Watch,
    raw_posts: Sequence[RawPost],
    classifier: Classifier,
    now: datetime,
) -> IngestResult:
    """Item by item, for polled channels: the same rules as `ingest_batch`, but a
    malformed item is left out and reported in `rejected`; the valid ones are stored.
    (Nobody can fix a feed's item and resend it, so it must not block the rest.)"""
    clean: list[RawPost] = []
    rejected: list[Rejected] = []
    for i, post in enumerate(raw_posts):
        try:
            clean.append(checked_post(post, now))
        except InvalidPost as exc:
            rejected.append(Rejected(_name(post, i), exc.field, exc.reason))
    stored = _store(session, watch, clean, classifier, now)
    return replace(stored, rejected=tuple(rejected))


def _store(
    session: Session, watch: Watch, posts: list[RawPost], classifier: Classifier, now: datetime
) -> IngestResult:
    """Store the new posts (already checked) with their labels; count them by event time.

    Idempotent: (watch, channel, external_id) seen before is a duplicate and changes
    nothing. Posts by the watch's own handles are kept (parodies are measured against
    them) but not counted as mentions."""
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
    labels = classifier.classify(
        [p.text for p in fresh], terms=list(watch.terms), handles=list(watch.own_handles)
    )
    verdicts = _parody_verdicts(session, watch, fresh, labels, is_own, own_handles, classifier, now)

    rows = []
    final_labels: list[PostLabels] = []
    for post, label, own, verdict in zip(fresh, labels, is_own, verdicts, strict=True):
        parody_of = None
        if verdict is not None:
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


def _parody_verdicts(
    session: Session,
    watch: Watch,
    fresh: list[RawPost],
    labels: list[PostLabels],
    is_own: list[bool],
    own_handles: set[str],
    classifier: Classifier,
    now: datetime,
) -> list[ParodyVerdict | None]:
    """Each post by others scored against the watch's own posts: those stored (by its
    own handles, on any channel, in the last OWN_POSTS_LOOKBACK) and those of this
    batch. None for the watch's own posts. The residues of the posts that echo an own
    post are classified in one more call (see core.parody)."""
    own_posts = posts_repo.recent_own_posts(session, watch.id, now - OWN_POSTS_LOOKBACK)
    own_posts += [
        OwnPost(id=f"{p.channel}:{p.external_id}", text=p.text)
        for p, own in zip(fresh, is_own, strict=True)
        if own
    ]
    others = [i for i, own in enumerate(is_own) if not own]
    out: list[ParodyVerdict | None] = [None] * len(fresh)
    if not own_posts or not others:
        return out
    index = ParodyIndex.build(own_posts, watch_words=[*watch.terms, *watch.own_handles])
    scored = score_batch(
        index,
        [fresh[i].text for i in others],
        [labels[i] for i in others],
        lambda texts: list(
            classifier.classify(texts, terms=list(watch.terms), handles=list(watch.own_handles))
        ),
    )
    for i, verdict in zip(others, scored, strict=True):
        out[i] = verdict
    return out


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
