"""Posts: idempotent insert, own posts, listing, samples for alert evidence."""

from __future__ import annotations

from collections.abc import Sequence
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
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.core.buckets import MOCKING_MIN_P_IRONY
from app.core.model import OwnPost
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


def recent_own_posts(
    session: Session, watch_id: str, since: datetime, limit: int = 50
) -> list[OwnPost]:
    """Newest first; served by the partial index ix_posts_watch_own_created (the
    predicate is written `is_own = true` so both databases match it to the index)."""
    stmt = (
        select(Post.id, Post.text)
        .where(Post.watch_id == watch_id, Post.is_own == True, Post.created_at >= since)  # noqa: E712
        .order_by(Post.created_at.desc())
        .limit(limit)
    )
    return [OwnPost(id=str(r.id), text=r.text) for r in session.execute(stmt)]


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
    session: Session, watch_id: str, kind: str, since: datetime, limit: int = 3
) -> list[Post]:
    """The most telling posts of a surge: most negative / most parodic / most reach."""
    stmt = select(Post).where(
        Post.watch_id == watch_id, Post.created_at >= since, Post.is_own.is_(False)
    )
    if kind == "negative_surge":
        stmt = stmt.where(Post.sentiment == "negative").order_by(Post.p_negative.desc())
    elif kind == "parody_surge":
        stmt = stmt.where(_mocking()).order_by(Post.parody_score.desc(), Post.p_irony.desc())
    else:
        stmt = stmt.order_by(Post.author_followers.desc().nulls_last(), Post.id.desc())
    return list(session.scalars(stmt.limit(limit)))
