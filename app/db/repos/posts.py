"""Posts: idempotent insert, own posts, listing, samples for alert evidence."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Select,
    String,
    TextClause,
    and_,
    any_,
    bindparam,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.core.buckets import MOCKING_MIN_P_IRONY
from app.core.model import OwnPost
from app.core.severity import Reach
from app.db.base import UTCDateTime
from app.db.tables import Post
from app.db.upsert import insert_for

_INSERT_CACHE: dict[str, Any] = {}
# PostgreSQL array element type per column type, for the unnest() insert
_PG_ELEMENT = (
    (UTCDateTime, "timestamptz"),
    (JSON, "json"),
    (Boolean, "bool"),
    (BigInteger, "int8"),
    (Integer, "int8"),
    (Float, "float8"),
    (String, "text"),
)


def _mocking() -> ColumnElement[bool]:
    """The SQL twin of core.buckets.counts_as_parody."""
    confident_irony = and_(
        Post.irony.is_(True),
        Post.p_irony >= MOCKING_MIN_P_IRONY,
        Post.sentiment != "positive",
    )
    return or_(Post.parody.is_(True), confident_irony)


def _insert_statement(session: Session) -> Any:
    """SQLite: INSERT … ON CONFLICT DO NOTHING RETURNING (channel, external_id), built
    once.  Executed with a list of rows it is compiled once (SQLAlchemy's cache) and
    sent through the dialect's "insertmanyvalues" batching, which fills a multi-row
    VALUES by string, in pages under SQLite's limit on bound parameters (32,766)."""
    stmt = _INSERT_CACHE.get("sqlite")
    if stmt is None:
        table = Post.__table__
        stmt = (
            insert_for(session, table)
            .on_conflict_do_nothing(index_elements=["watch_id", "channel", "external_id"])
            .returning(table.c.channel, table.c.external_id)
        )
        _INSERT_CACHE["sqlite"] = stmt
    return stmt


def _pg_columns() -> list[tuple[str, str]]:
    out = []
    for col in Post.__table__.columns:
        if col.primary_key:
            continue
        element = next(name for kind, name in _PG_ELEMENT if isinstance(col.type, kind))
        out.append((col.name, element))
    return out


def _pg_insert_statement() -> TextClause:
    """PostgreSQL: one short statement whatever the batch size, one array parameter a
    column: INSERT … SELECT * FROM unnest(…) ON CONFLICT DO NOTHING RETURNING.  A
    500-row VALUES statement has 11,500 placeholders, and psycopg re-parses a query
    that long on every execution (~1/4 of the server's CPU, cProfile)."""
    stmt = _INSERT_CACHE.get("postgresql")
    if stmt is None:
        cols = _pg_columns()
        names = ", ".join(name for name, _ in cols)
        arrays = ", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in cols)
        stmt = text(
            f"INSERT INTO posts ({names}) SELECT * FROM unnest({arrays}) "
            "ON CONFLICT (watch_id, channel, external_id) DO NOTHING "
            "RETURNING channel, external_id"
        )
        _INSERT_CACHE["postgresql"] = stmt
    return stmt


def _pg_arrays(rows: Sequence[dict[str, Any]]) -> dict[str, list[Any]]:
    params: dict[str, list[Any]] = {}
    for name, kind in _pg_columns():
        values = [row[name] for row in rows]
        if kind == "json":
            values = [orjson.dumps(v, option=orjson.OPT_NON_STR_KEYS).decode() for v in values]
        params[name] = values
    return params


def insert_new(session: Session, rows: Sequence[dict[str, Any]]) -> set[tuple[str, str]]:
    """Insert rows not seen before; returns the (channel, external_id) actually inserted.

    The unique (watch, channel, external_id) constraint has the final word: a row it
    refuses is not returned.  One statement, compiled once, for all the rows (see
    _insert_statement, _pg_insert_statement): compiling a fresh 500-row multi-VALUES
    statement per chunk cost more CPU than the database spent inserting
    (bench/ingest.py).  Rows carry aware datetimes (UTC)."""
    if not rows:
        return set()
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        result = conn.execute(_pg_insert_statement(), _pg_arrays(rows))
    else:
        result = conn.execute(_insert_statement(session), list(rows))
    return {(r.channel, r.external_id) for r in result}


def existing_keys(
    session: Session, watch_id: str, keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (channel, external_id) the watch already has.  Asked per channel,
    so the lookup walks the unique (watch, channel, external_id) index to each key;
    without the channel it read every key the watch holds."""
    by_channel: dict[str, list[str]] = {}
    for channel, ext in keys:
        by_channel.setdefault(channel, []).append(ext)
    found: set[tuple[str, str]] = set()
    pg = session.get_bind().dialect.name == "postgresql"
    for channel, exts in sorted(by_channel.items()):
        ids = sorted(set(exts))
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            # PostgreSQL: one array parameter (500 placeholders made a long query
            # that psycopg parses on every call)
            match = (
                Post.external_id == any_(bindparam("ids", chunk, type_=ARRAY(String)))
                if pg
                else Post.external_id.in_(chunk)
            )
            stmt = select(Post.external_id).where(
                Post.watch_id == watch_id, Post.channel == channel, match
            )
            found.update((channel, ext) for ext in session.scalars(stmt))
    return found


OWN_POSTS_LIMIT = 200  # a busy force posts 20 a day: 50 lost a post within days


def recent_own_posts(
    session: Session,
    watch_id: str,
    since: datetime,
    limit: int = OWN_POSTS_LIMIT,
) -> list[OwnPost]:
    """The watch's own posts since `since`, newest first. Served by the partial index
    ix_posts_watch_own_created (the predicate is written `is_own = true` so both
    databases match it to the index); posts by a handle added to the watch later are
    marked own when it is added (mark_own), so they are here too."""
    stmt = (
        select(Post.id, Post.text)
        .where(Post.watch_id == watch_id, Post.is_own == True, Post.created_at >= since)  # noqa: E712
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
        # "= true" as the partial index ix_posts_watch_own_id is written
        stmt = stmt.where(Post.is_own == True)  # noqa: E712
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


REACH_ROWS = 5000  # a wave's label posts read for its reach (a half hour's worth)


def wave_reach(
    session: Session, watch_id: str, kind: str, since: datetime, until: datetime | None = None
) -> Reach:
    """Who carries a negative / parody wave since `since`: its label posts'
    distinct authors, their followers (each author once, unknown as 0) and the
    posts' engagement (the metrics summed).  Own posts are not the wave."""
    stmt = select(Post.author_handle, Post.author_followers, Post.metrics).where(
        Post.watch_id == watch_id, Post.created_at >= since, Post.is_own.is_(False)
    )
    if until is not None:
        stmt = stmt.where(Post.created_at < until)
    if kind == "negative_surge":
        stmt = stmt.where(Post.sentiment == "negative")
    elif kind == "parody_surge":
        stmt = stmt.where(_mocking())
    followers: dict[str, int] = {}
    engagement = 0
    for handle, count, metrics in session.execute(stmt.limit(REACH_ROWS)):
        followers[handle] = max(followers.get(handle, 0), count or 0)
        if isinstance(metrics, dict):
            engagement += sum(v for v in metrics.values() if isinstance(v, int) and v > 0)
    return Reach(len(followers), sum(followers.values()), engagement)


def mark_own(session: Session, watch_id: str, handles: Iterable[str]) -> int:
    """Mark the watch's stored posts by `handles` (normalised) as its own: a handle
    added to a watch brings its earlier posts into the parody index."""
    handles = list(handles)
    if not handles:
        return 0
    stmt = (
        update(Post)
        .where(Post.watch_id == watch_id, Post.author_handle.in_(handles), Post.is_own == False)  # noqa: E712
        .values(is_own=True)
    )
    return session.execute(stmt).rowcount or 0
