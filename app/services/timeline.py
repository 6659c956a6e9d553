"""A watch's timeline: posts per 5-minute bucket by label, the expected band, and the
alerts in a time range -- the series behind every chart (issue #21).

The expected band is what the detector expected *at each bucket*, found by replaying
the stored buckets through a fresh ``WatchDetector`` (the watch's sensitivity) from
``HISTORY`` before the range (or the watch's first bucket, if later) to its end.
Reading the stored detector state instead (``CountBaseline.expected(hour, wday)``)
would be cheaper but gives today's level and seasonal factors for every past bucket:
a chart of last week would show this week's normal, and the band would not show the
rise the detector itself saw.  The replay is the detector's own arithmetic, so the
band is the one it alerted against, up to its warm-up: 14 days of history is what the
volume alarm's calibration keeps (``TAIL_DAYS``) and more than a day (seasonal mode),
but the live detector may have learnt from longer (weekday factors learn over weeks),
so small differences from the live state are expected.  Cost: one ``feed`` per
bucket, at most (14 + 14) days = 8,064 buckets (~0.35 s measured on this machine).

Per bucket:
  expected  posts the detector expected in that bucket (null before its first bucket)
  upper     the count at which that bucket alone reaches the 5-minute volume alarm:
            the larger of the score bar (preset floor or the watch's calibrated level;
            x1.5 in fallback) turned back into a count, ``min_ratio`` x expected and
            expected + ``min_excess``.  Habituation and the 1-hour/12-hour windows can
            only add to it, so this is the lowest line a lone bucket must cross.
  expected_negative / expected_parody  expected x the usual share of that label.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.core.buckets import BUCKET, bucket_start
from app.core.detect import FALLBACK_FACTOR, MIN_HISTORY, WatchDetector
from app.core.model import BucketCounts
from app.db.repos import buckets as buckets_repo
from app.db.tables import Alert, Watch

HISTORY = timedelta(days=14)  # replayed before the range (see module doc)
MAX_RANGE = timedelta(days=14)  # 4,032 buckets: one answer, no paging
DEFAULT_RANGE = timedelta(hours=48)


@dataclass(frozen=True, slots=True)
class TimelineBucket:
    start: datetime
    total: int
    negative: int
    positive: int
    parody: int
    expected: float | None
    upper: float | None
    expected_negative: float | None
    expected_parody: float | None


@dataclass(frozen=True, slots=True)
class TimelineAlert:
    id: str
    kind: str
    severity: str
    state: str
    opened_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class Timeline:
    watch_id: str
    since: datetime
    until: datetime
    sensitivity: str
    buckets: list[TimelineBucket] = field(default_factory=list)
    alerts: list[TimelineAlert] = field(default_factory=list)


def align(since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """since down to its bucket start, until up to the next bucket boundary."""
    end = bucket_start(until)
    if end < until:
        end += BUCKET
    return bucket_start(since), end


def _upper(detector: WatchDetector, expected: float) -> float:
    """The count at which one bucket reaches the 5-minute volume alarm (module doc)."""
    pr = detector.preset
    tm = detector.total
    fallback = tm.n < MIN_HISTORY
    bar = pr.threshold * (FALLBACK_FACTOR if fallback else 1.0)
    level = None if fallback else detector.tail.level(0, pr.budget_days)
    if level is not None and level > bar:
        bar = level
    root = math.sqrt(expected + 0.375) + 0.5 * bar * math.sqrt(1.0 + tm.phi(0) * expected)
    return max(root * root - 0.375, pr.min_ratio * expected, expected + pr.min_excess)


def _replay(
    session: Session, watch: Watch, since: datetime, until: datetime
) -> list[TimelineBucket]:
    first = buckets_repo.earliest_since(session, watch.id, since - HISTORY)
    created = bucket_start(watch.created_at)
    start = min(first, created) if first is not None else created
    start = max(start, since - HISTORY)
    stored = {b.start: b for b in buckets_repo.read_range(session, watch.id, start, until)}
    detector = WatchDetector.new(watch.sensitivity)
    out: list[TimelineBucket] = []
    at = min(start, since)
    while at < until:
        b = stored.get(at) or BucketCounts(at)
        if at >= since:
            tm = detector.total
            if at >= start and tm.n:
                sec = int(at.timestamp())
                hour, wday = (sec // 3600) % 24, (sec // 86400 + 3) % 7
                e = tm.expected(hour, wday, seasonal=tm.n >= MIN_HISTORY)
                band: tuple[float | None, ...] = (
                    round(e, 3),
                    round(_upper(detector, e), 3),
                    round(e * detector.shares["negative"].share(), 3),
                    round(e * detector.shares["parody"].share(), 3),
                )
            else:
                band = (None, None, None, None)
            out.append(TimelineBucket(at, b.total, b.negative, b.positive, b.parody, *band))
        if at >= start:
            detector.feed(b)
        at += BUCKET
    return out


def _alerts(
    session: Session, watch_id: str, since: datetime, until: datetime
) -> list[TimelineAlert]:
    """Alerts open at any time in [since, until): opened before until, not closed before since."""
    stmt = (
        select(Alert)
        .where(
            Alert.watch_id == watch_id,
            Alert.opened_at < until,
            or_(Alert.resolved_at.is_(None), Alert.resolved_at >= since),
        )
        .order_by(Alert.opened_at, Alert.id)
    )
    return [
        TimelineAlert(a.id, a.kind, a.severity, a.state, a.opened_at, a.resolved_at)
        for a in session.scalars(stmt)
    ]


def build_timeline(session: Session, watch: Watch, since: datetime, until: datetime) -> Timeline:
    """The timeline of `watch` over [since, until), aligned to 5-minute buckets.
    The caller checks the range (at most MAX_RANGE, since before until)."""
    since, until = align(since, until)
    return Timeline(
        watch_id=watch.id,
        since=since,
        until=until,
        sensitivity=watch.sensitivity,
        buckets=_replay(session, watch, since, until),
        alerts=_alerts(session, watch.id, since, until),
    )
