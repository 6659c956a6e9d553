"""The series behind every chart: GET /api/v1/watches/{id}/timeline (issue #21) and an
alert's picture, GET /api/v1/alerts/{id}/chart.png (issue #20)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from app.api.deps import ApiKeyDep, RuntimeDep
from app.api.errors import InvalidParam, NotFound
from app.api.routes.posts import _utc
from app.api.schemas import error_responses
from app.core.buckets import BUCKET
from app.db.repos import alerts as alerts_repo
from app.db.repos import watches as watches_repo
from app.db.session import unit_of_work
from app.services.timeline import DEFAULT_RANGE, MAX_RANGE, Timeline, build_timeline

router = APIRouter(tags=["timeline"], responses=error_responses(401, 404, 422))


class TimelineBucketRead(BaseModel):
    start: datetime
    total: int
    negative: int
    positive: int
    parody: int
    expected: float | None
    upper: float | None
    expected_negative: float | None
    expected_parody: float | None


class TimelineAlertRead(BaseModel):
    id: str
    kind: str
    severity: str
    state: str
    opened_at: datetime
    closed_at: datetime | None


class TimelineRead(BaseModel):
    watch_id: str
    since: datetime
    until: datetime
    bucket_minutes: int
    sensitivity: str
    buckets: list[TimelineBucketRead]
    alerts: list[TimelineAlertRead]


def _range(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """Defaults: the last 48 hours.  until at most one bucket ahead of now; since
    before until; at most MAX_RANGE (14 days) apart -- else 422 naming the parameter."""
    end = _utc("until", until) or now
    start = _utc("since", since) or end - DEFAULT_RANGE
    if end > now + BUCKET:
        raise InvalidParam("until", "is in the future")
    if start >= end:
        raise InvalidParam("since", "must be before until")
    if end - start > MAX_RANGE:
        raise InvalidParam("since", f"the range may span at most {MAX_RANGE.days} days")
    return start, end


def chart_range(
    opened_at: datetime, resolved_at: datetime | None, updated_at: datetime, now: datetime
) -> tuple[datetime, datetime]:
    """An alert chart's range: the 48 hours up to now, or up to its last update (plus a
    bucket) once resolved; widened to show the alert's start with an hour before it,
    up to MAX_RANGE (14 days)."""
    end = min(now, updated_at + BUCKET) if resolved_at is not None else now
    start = max(min(end - DEFAULT_RANGE, opened_at - 12 * BUCKET), end - MAX_RANGE)
    return start, end


def _read(t: Timeline) -> TimelineRead:
    return TimelineRead(
        watch_id=t.watch_id,
        since=t.since,
        until=t.until,
        bucket_minutes=int(BUCKET.total_seconds() // 60),
        sensitivity=t.sensitivity,
        buckets=[TimelineBucketRead.model_validate(b, from_attributes=True) for b in t.buckets],
        alerts=[TimelineAlertRead.model_validate(a, from_attributes=True) for a in t.alerts],
    )


@router.get("/api/v1/watches/{watch_id}/timeline", response_model=TimelineRead)
def get_timeline(
    watch_id: str,
    runtime: RuntimeDep,
    _: ApiKeyDep,
    since: datetime | None = None,
    until: datetime | None = None,
) -> TimelineRead:
    """Per 5-minute bucket: posts by label, `expected` posts and `upper` (the count at
    which that bucket alone reaches the volume alarm), replayed through the watch's
    detector; and the alerts open in the range.  Default: the last 48 hours; at most
    14 days."""
    start, end = _range(since, until, runtime.clock.now())
    with unit_of_work(runtime.session_factory) as session:
        watch = watches_repo.get(session, watch_id)
        if watch is None:
            raise NotFound("watch", watch_id)
        return _read(build_timeline(session, watch, start, end))


@router.get(
    "/api/v1/alerts/{alert_id}/chart.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "the chart"}},
)
def get_alert_chart(alert_id: str, runtime: RuntimeDep, _: ApiKeyDep) -> Response:
    """A PNG of the 48 hours up to now (up to the resolution for a resolved alert):
    posts per bucket by label against the expected band, the alert's start marked."""
    from app.notify.chart import render_png  # matplotlib only when a chart is asked for

    now = runtime.clock.now()
    with unit_of_work(runtime.session_factory) as session:
        alert = alerts_repo.get(session, alert_id)
        if alert is None:
            raise NotFound("alert", alert_id)
        watch = watches_repo.get(session, alert.watch_id)
        if watch is None:
            raise NotFound("watch", alert.watch_id)
        start, end = chart_range(alert.opened_at, alert.resolved_at, alert.updated_at, now)
        timeline = build_timeline(session, watch, start, end)
        title = f"{watch.name}: {alert.kind.replace('_', ' ')} ({alert.severity})"
        alert_start = alert.opened_at
    png = render_png(timeline, alert_start, title)
    return Response(content=png, media_type="image/png", headers={"Cache-Control": "no-store"})
