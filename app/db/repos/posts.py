"""Posts: idempotent insert, own posts, listing, samples for alert evidence."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session

from app.core.buckets import MOCKING_MIN_P_IRONY
from app.core.model import OwnPost
from app.db.tables import Post
from app.db.upsert import insert_for

INSERT_CHUNK = 500  # rows per INSERT; ~23 parameters each


def _mocking() -> ColumnElement[bool]:
    """The SQL twin of core.buckets.counts_as_parody."""
    confident_irony = and_(
        Post.irony.is_(True),
        Post.p_irony >= MOCKING_MIN_P_IRONY,
        Post.sentiment != "positive",
    )
    return or_(Post.parody.is_(True), confident_irony)


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert rows not seen before; returns the (channel, external_id) actually inserted.

    The unique (watch, channel, external_id) constraint has the final word. Rows go in
    INSERT_CHUNK at a time: one statement for all would pass the databases' limits on
    bound parameters (65,535 on PostgreSQL, 32,766 on SQLite) for a few thousand rows."""
    inserted: set[tuple[str, str]] = set()
    for i in range(0, len(rows), INSERT_CHUNK):
        stmt = (
            insert_for(session, Post)
            .values(list(rows[i : i + INSERT_CHUNK]))
            .on_conflict_do_nothing(index_elements=["watch_id", "channel", "external_id"])
            .returning(Post.channel, Post.external_id)
        )
        inserted.update((r.channel, r.external_id) for r in session.execute(stmt))
    return inserted


def existing_keys(
    session: Session, watch_id: str, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (channel, external_id) the watch already has."""
    found: set[tuple[str, str]] = set()
    ids = sorted({ext for _, ext in keys})
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        stmt = select(Post.channel, Post.external_id).where(
            Post.watch_id == watch_id, Post.external_id.in_(chunk)
        )
        found.update((r.channel, r.external_id) for r in session.execute(stmt))
    return found & set(keys)


OWN_POSTS_LIMIT = 200  # a busy force posts 20 a day: 50 lost a post within days


def recent_own_posts(
    session: Session,
    watch_id: str,
    handles: Sequence[str],
    since: datetime,
    limit: int = OWN_POSTS_LIMIT,
) -> list[OwnPost]:
    """The watch's own posts since `since`, newest first: posts stored as its own, and
    posts by any of `handles` (normalised) on any channel, so a handle added to the
    watch later brings its earlier posts into the parody index."""
    mine = Post.is_own.is_(True)
    if handles:
        mine = or_(mine, Post.author_handle.in_(list(handles)))
    stmt = (
        select(Post.id, Post.text)
        .where(Post.watch_id == watch_id, Post.created_at >= since, mine)
        .order_by(Post.created_at.desc())
        .limit(limit)
    )
    return [OwnPost(id=str(r.id), text=r.text) for r in session.execute(stmt)]


def own_post_by_ref(session: Session, watch_id: str, ref: str) -> Post | None:
    """The own post a parody names in `parody_of`: a stored post's id, or
    "channel:external_id" for one that arrived in the same batch as its parodies."""
    if ref.isdigit():
        post = session.get(Post, int(ref))
        return post if post is not None and post.watch_id == watch_id else None
    channel, sep, external_id = ref.partition(":")
    while sep:
        stmt = select(Post).where(
            Post.watch_id == watch_id, Post.channel == channel, Post.external_id == external_id
        )
        found = session.scalar(stmt)
        if found is not None:
            return found
        more, sep, external_id = external_id.partition(":")
        channel = f"{channel}:{more}"
    return None


def most_parodied(session: Session, watch_id: str, since: datetime) -> str | None:
    """The `parody_of` most named by the parodies created since `since`."""
    stmt = (
        select(Post.parody_of, func.count())
        .where(
            Post.watch_id == watch_id,
            Post.created_at >= since,
            Post.parody.is_(True),
            Post.parody_of.is_not(None),
        )
        .group_by(Post.parody_of)
        .order_by(func.count().desc(), func.max(Post.id).desc())
        .limit(1)
    )
    row = session.execute(stmt).first()
    return None if row is None else str(row[0])


def arrivals(
    session: Session, watch_id: str, written_since: datetime, arrived_after: datetime
) -> list[tuple[datetime, datetime]]:
    """(created_at, ingested_at) of the posts written since `written_since` that arrived
    after `arrived_after`: what tells a late batch from a live one."""
    stmt = select(Post.created_at, Post.ingested_at).where(
        Post.watch_id == watch_id,
        Post.is_own.is_(False),
        Post.created_at >= written_since,
        Post.ingested_at > arrived_after,
    )
    return [(r.created_at, r.ingested_at) for r in session.execute(stmt)]


def page(
    session: Session,
    watch_id: str,
    *,
    label: str | None,
    since: datetime | None,
    until: datetime | None,
    after_id: int | None,
    limit: int,
) -> list[Post]:
    """Newest first, keyset-paged on id."""
    stmt: Select[tuple[Post]] = select(Post).where(Post.watch_id == watch_id)
    if label in ("negative", "neutral", "positive"):
        stmt = stmt.where(Post.sentiment == label)
    elif label == "irony":
        stmt = stmt.where(Post.irony.is_(True))
    elif label == "offensive":
        stmt = stmt.where(Post.offensive.is_(True))
    elif label == "parody":
        stmt = stmt.where(_mocking())
    elif label == "own":
        stmt = stmt.where(Post.is_own.is_(True))
    if since is not None:
        stmt = stmt.where(Post.created_at >= since)
    if until is not None:
        stmt = stmt.where(Post.created_at < until)
    if after_id is not None:
        stmt = stmt.where(Post.id < after_id)
    return list(session.scalars(stmt.order_by(Post.id.desc()).limit(limit)))


def samples(
    session: Session,
    watch_id: str,
    kind: str,
    since: datetime,
    limit: int = 3,
    until: datetime | None = None,
) -> list[Post]:
    """The most telling posts of a surge (written since `since`, before `until`): most
    negative / most parodic / most reach first."""
    stmt = select(Post).where(
        Post.watch_id == watch_id, Post.created_at >= since, Post.is_own.is_(False)
    )
    if until is not None:
        stmt = stmt.where(Post.created_at < until)
    if kind == "negative_surge":
        stmt = stmt.where(Post.sentiment == "negative").order_by(Post.p_negative.desc())
    elif kind == "parody_surge":
        stmt = stmt.where(_mocking()).order_by(Post.parody_score.desc(), Post.p_irony.desc())
    else:
        stmt = stmt.order_by(Post.author_followers.desc().nulls_last(), Post.id.desc())
    return list(session.scalars(stmt.limit(limit)))
