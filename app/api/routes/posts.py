"""/api/v1/watches/{id}/posts: push posts in; read them back with their labels."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ApiKeyDep, RuntimeDep
from app.api.errors import InvalidParam, NotFound
from app.api.pagination import (
    POST_CURSOR,
    CursorParam,
    LimitParam,
    decode_cursor,
    encode_cursor,
)
from app.api.schemas import IngestOut, Page, PostBatch, PostRead, error_responses
from app.core.model import Author, RawPost
from app.db.repos import posts as posts_repo
from app.db.repos import watches as watches_repo
from app.db.session import unit_of_work
from app.db.tables import Post
from app.services.ingest import ingest_batch

router = APIRouter(
    prefix="/api/v1/watches/{watch_id}/posts",
    tags=["posts"],
    responses=error_responses(401, 404, 413, 422),
)
LabelParam = Annotated[
    str | None,
    Query(pattern="^(negative|neutral|positive|irony|offensive|parody|own)$"),
]


def to_read(p: Post) -> PostRead:
    return PostRead(
        id=p.id,
        channel=p.channel,
        external_id=p.external_id,
        text=p.text,
        created_at=p.created_at,
        url=p.url,
        author={"handle": p.author_handle, "followers": p.author_followers},
        metrics=p.metrics,
        own=p.is_own,
        labels={
            "sentiment": p.sentiment,
            "p_negative": p.p_negative,
            "p_neutral": p.p_neutral,
            "p_positive": p.p_positive,
            "irony": p.irony,
            "p_irony": p.p_irony,
            "offensive": p.offensive,
            "p_offensive": p.p_offensive,
            "parody": p.parody,
            "parody_score": p.parody_score,
            "parody_of": p.parody_of,
        },
    )


@router.post("", response_model=IngestOut)
def push_posts(watch_id: str, body: PostBatch, runtime: RuntimeDep, _: ApiKeyDep) -> IngestOut:
    """Ingest up to 1,000 posts. Idempotent per (watch, channel, external_id); a
    malformed item refuses the whole batch with 422 naming its index and field.
    `created_at` may not be in the future nor older than the 35 days posts are kept."""
    raw = [
        RawPost(
            external_id=p.external_id,
            text=p.text,
            created_at=p.created_at,
            author=Author(handle=p.author.handle, followers=p.author.followers),
            channel=p.channel,
            url=str(p.url) if p.url else None,
            metrics=p.metrics.model_dump() if p.metrics else {},
        )
        for p in body.posts
    ]
    with runtime.watch_lock, unit_of_work(runtime.session_factory) as session:
        watch = watches_repo.get(session, watch_id, for_update=True)
        if watch is None:
            raise NotFound("watch", watch_id)
        result = ingest_batch(
            session,
            watch=watch,
            raw_posts=raw,
            classifier=runtime.classifier,
            now=runtime.clock.now(),
            refuse_expired=True,
        )
    runtime.metrics.posts.labels("accepted").inc(result.accepted)
    runtime.metrics.posts.labels("duplicate").inc(result.duplicates)
    if result.accepted:
        runtime.kick_detection()
    return IngestOut(accepted=result.accepted, duplicates=result.duplicates)


def _utc(name: str, value: datetime | None) -> datetime | None:
    """Query times without a zone are taken as UTC; one that leaves the years 1-9999
    once moved to UTC (0001-01-01T00:00:00+01:00) is a 422 naming the parameter."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InvalidParam(name, "is out of range once converted to UTC") from exc


@router.get("", response_model=Page[PostRead])
def list_posts(
    watch_id: str,
    runtime: RuntimeDep,
    _: ApiKeyDep,
    label: LabelParam = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: LimitParam = 100,
    cursor: CursorParam = None,
) -> Page[PostRead]:
    """Posts of a watch, newest first, with their labels; filter by label and event time."""
    with unit_of_work(runtime.session_factory) as session:
        if watches_repo.get(session, watch_id) is None:
            raise NotFound("watch", watch_id)
        rows = posts_repo.page(
            session,
            watch_id,
            label=label,
            since=_utc("since", since),
            until=_utc("until", until),
            after_id=decode_cursor(cursor, POST_CURSOR),
            limit=limit + 1,
        )
        nxt = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return Page[PostRead](items=[to_read(p) for p in rows[:limit]], next_cursor=nxt)
