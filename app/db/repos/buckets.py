"""Volume buckets: add counts (upsert), read a watch's series."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.buckets import BucketTally
from app.core.model import BucketCounts
from app.db.tables import VolumeBucket
from app.db.upsert import insert_for


def increment(session: Session, watch_id: str, tallies: dict[datetime, BucketTally]) -> None:
    if not tallies:
        return
    rows = [
        {
            "watch_id": watch_id,
            "bucket_start": start,
            "total": t.total,
            "negative": t.negative,
            "positive": t.positive,
            "parody": t.parody,
        }
        for start, t in sorted(tallies.items())
    ]
    ins = insert_for(session, VolumeBucket)
    stmt = ins.on_conflict_do_update(
        index_elements=["watch_id", "bucket_start"],
        set_={
            "total": VolumeBucket.total + ins.excluded.total,
            "negative": VolumeBucket.negative + ins.excluded.negative,
            "positive": VolumeBucket.positive + ins.excluded.positive,
            "parody": VolumeBucket.parody + ins.excluded.parody,
        },
    )
    session.execute(stmt, rows)


def read_range(
    session: Session, watch_id: str, start: datetime, end: datetime
) -> list[BucketCounts]:
    """Stored (non-empty) buckets with start <= bucket_start < end, oldest first."""
    stmt = (
        select(VolumeBucket)
        .where(
            VolumeBucket.watch_id == watch_id,
            VolumeBucket.bucket_start >= start,
            VolumeBucket.bucket_start < end,
        )
        .order_by(VolumeBucket.bucket_start)
    )
    return [
        BucketCounts(b.bucket_start, b.total, b.negative, b.positive, b.parody)
        for b in session.scalars(stmt)
    ]


def earliest_since(session: Session, watch_id: str, since: datetime) -> datetime | None:
    stmt = select(func.min(VolumeBucket.bucket_start)).where(
        VolumeBucket.watch_id == watch_id, VolumeBucket.bucket_start >= since
    )
    return session.scalar(stmt)


def read_recent(
    session: Session, watch_ids: list[str], start: datetime
) -> dict[str, list[BucketCounts]]:
    """Buckets from `start` on for many watches at once (a detection chunk)."""
    stmt = (
        select(VolumeBucket)
        .where(VolumeBucket.watch_id.in_(watch_ids), VolumeBucket.bucket_start >= start)
        .order_by(VolumeBucket.bucket_start)
    )
    out: dict[str, list[BucketCounts]] = {w: [] for w in watch_ids}
    for b in session.scalars(stmt):
        out[b.watch_id].append(
            BucketCounts(b.bucket_start, b.total, b.negative, b.positive, b.parody)
        )
    return out
