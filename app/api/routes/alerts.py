"""/api/v1/alerts: list, read, and acknowledge / snooze / resolve."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.api.deps import ApiKeyDep, RuntimeDep, UowDep
from app.api.errors import NotFound
from app.api.pagination import (
    TIME_ID_CURSOR,
    CursorParam,
    LimitParam,
    decode_cursor,
    encode_cursor,
)
from app.api.schemas import (
    AlertCommand,
    AlertEventRead,
    AlertRead,
    Page,
    SnoozeCommand,
    error_responses,
)
from app.core.events import alert_data
from app.db.repos import alerts as alerts_repo
from app.db.session import unit_of_work
from app.runtime import Runtime
from app.services import alerts as alert_service

router = APIRouter(
    prefix="/api/v1/alerts", tags=["alerts"], responses=error_responses(401, 404, 409, 413, 422)
)
StateParam = Annotated[str | None, Query(pattern="^(open|acknowledged|snoozed|resolved)$")]
KindParam = Annotated[
    str | None, Query(pattern="^(negative_surge|parody_surge|volume_surge|channel_silent)$")
]


def _read(data: dict[str, Any]) -> AlertRead:
    return AlertRead(**data)


@router.get("", response_model=Page[AlertRead])
def list_alerts(
    session: UowDep,
    _: ApiKeyDep,
    watch_id: str | None = None,
    state: StateParam = None,
    kind: KindParam = None,
    limit: LimitParam = 50,
    cursor: CursorParam = None,
) -> Page[AlertRead]:
    """Alerts, newest first, filtered by watch, state and kind."""
    before = decode_cursor(cursor, TIME_ID_CURSOR)
    rows = alerts_repo.page(
        session, watch_id=watch_id, state=state, kind=kind, before=before, limit=limit + 1
    )
    nxt = None
    if len(rows) > limit:
        last = rows[limit - 1]
        nxt = encode_cursor([last.opened_at.isoformat(), last.id])
    items = [_read(alert_data(snap)) for snap in rows[:limit]]
    return Page[AlertRead](items=items, next_cursor=nxt)


@router.get("/{alert_id}", response_model=AlertRead)
def get_alert(alert_id: str, session: UowDep, _: ApiKeyDep) -> AlertRead:
    """One alert with its evidence (observed vs expected, score, samples) and guidance."""
    snap = alerts_repo.get_snapshot(session, alert_id)
    if snap is None:
        raise NotFound("alert", alert_id)
    return _read(alert_data(snap))


@router.get("/{alert_id}/events", response_model=list[AlertEventRead])
def alert_events(alert_id: str, session: UowDep, _: ApiKeyDep) -> list[AlertEventRead]:
    """The alert's history: opened, updates, acknowledgements, resolution; who and why."""
    if alerts_repo.get(session, alert_id) is None:
        raise NotFound("alert", alert_id)
    return [
        AlertEventRead(type=e.type, reason=e.reason, at=e.at, by=e.by)
        for e in alerts_repo.history(session, alert_id)
    ]


def _command(
    runtime: Runtime, command: str, alert_id: str, body: AlertCommand | SnoozeCommand
) -> AlertRead:
    with unit_of_work(runtime.session_factory) as session:
        snap = alert_service.run_command(
            session,
            command=command,
            alert_id=alert_id,
            by=body.by,
            until=body.until if isinstance(body, SnoozeCommand) else None,
            now=runtime.clock.now(),
            slack=runtime.slack_target,
        )
    runtime.kick_delivery()
    return _read(alert_data(snap))


@router.post("/{alert_id}/acknowledge", response_model=AlertRead)
def acknowledge(alert_id: str, body: AlertCommand, runtime: RuntimeDep, _: ApiKeyDep) -> AlertRead:
    """Someone is on it: the Slack message is updated and `alert.acknowledged` is sent."""
    return _command(runtime, "acknowledge", alert_id, body)


@router.post("/{alert_id}/snooze", response_model=AlertRead)
def snooze(alert_id: str, body: SnoozeCommand, runtime: RuntimeDep, _: ApiKeyDep) -> AlertRead:
    """Hold updates until `until` (at most 7 days ahead)."""
    return _command(runtime, "snooze", alert_id, body)


@router.post("/{alert_id}/resolve", response_model=AlertRead)
def resolve(alert_id: str, body: AlertCommand, runtime: RuntimeDep, _: ApiKeyDep) -> AlertRead:
    """Close the episode; a new surge later opens a new alert."""
    return _command(runtime, "resolve", alert_id, body)
