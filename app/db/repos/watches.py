"""Watches: lookups, paging, detection flags."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session, defer

from app.db.tables import PollCursor, Watch


def get(session: Session, watch_id: str, *, for_update: bool = False) -> Watch | None:
    """for_update locks the row (PostgreSQL) so ingest and detection of a watch take turns."""
    return session.get(Watch, watch_id, with_for_update=for_update)


def page(session: Session, *, after: str | None, limit: int) -> list[Watch]:
    stmt = select(Watch)
    if after:
        stmt = stmt.where(Watch.id > after)
    return list(session.scalars(stmt.order_by(Watch.id).limit(limit)))


def all_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Watch.id).order_by(Watch.id)))


def dirty_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Watch.id).where(Watch.detect_dirty.is_(True))))


def mark_dirty(session: Session, watch_id: str, *, stale: bool, now: datetime) -> None:
    values: dict[str, object] = {"detect_dirty": True, "last_ingest_at": now}
    if stale:
        values["detector_stale"] = True
    session.execute(update(Watch).where(Watch.id == watch_id).values(**values))


def with_channels(session: Session) -> list[Watch]:
    return [w for w in session.scalars(select(Watch).order_by(Watch.id)) if w.channels]


def get_many(session: Session, watch_ids: list[str]) -> dict[str, Watch]:
    """Several watches, locked (PostgreSQL) so ingest and detection take turns.
    Locked in id order: two instances locking overlapping sets in different orders
    could deadlock.

    The match lists (terms, handles, channels) are not loaded: detection does
    not read them, and decoding three JSON lists per watch was a fifth of a
    1,000-watch pass (they still load on first access)."""
    stmt = (
        select(Watch)
        .where(Watch.id.in_(watch_ids))
        .options(defer(Watch.terms), defer(Watch.own_handles), defer(Watch.channels))
        .order_by(Watch.id)
        .with_for_update()
    )
    return {w.id: w for w in session.scalars(stmt)}


def poll_states(session: Session, watch_id: str) -> dict[str, PollCursor]:
    """channel spec → its poll cursor row (channels never polled have none)."""
    rows = session.scalars(select(PollCursor).where(PollCursor.watch_id == watch_id))
    return {r.channel: r for r in rows}
