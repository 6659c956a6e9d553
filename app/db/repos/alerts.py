"""Alerts: the open alert per (watch, kind), history events, snapshots, listing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.db.tables import Alert, AlertEvent, Watch


def open_alerts(session: Session, watch_id: str) -> dict[AlertKind, Alert]:
    stmt = select(Alert).where(Alert.watch_id == watch_id, Alert.state != AlertState.RESOLVED.value)
    return {AlertKind(a.kind): a for a in session.scalars(stmt)}


def open_alerts_many(session: Session, watch_ids: list[str]) -> dict[str, dict[AlertKind, Alert]]:
    stmt = select(Alert).where(
        Alert.watch_id.in_(watch_ids), Alert.state != AlertState.RESOLVED.value
    )
    out: dict[str, dict[AlertKind, Alert]] = {w: {} for w in watch_ids}
    for a in session.scalars(stmt):
        out[a.watch_id][AlertKind(a.kind)] = a
    return out


def resolved_by_person_many(
    session: Session, watch_ids: list[str], since: datetime, auto: str
) -> dict[str, dict[AlertKind, Alert]]:
    """Per watch and kind, the newest alert a person (not `auto`) resolved whose
    surge was still seen at or after `since`."""
    stmt = (
        select(Alert)
        .where(
            Alert.watch_id.in_(watch_ids),
            Alert.state == AlertState.RESOLVED.value,
            Alert.resolved_by != auto,
            Alert.last_spike_at >= since,
        )
        .order_by(Alert.resolved_at)
    )
    out: dict[str, dict[AlertKind, Alert]] = {w: {} for w in watch_ids}
    for a in session.scalars(stmt):
        out[a.watch_id][AlertKind(a.kind)] = a  # ordered: the newest wins
    return out


def last_spike_by_kind(
    session: Session, watch_id: str, since: datetime
) -> dict[AlertKind, datetime]:
    """Per kind, the newest last_spike_at at or after `since` of the watch's alerts, in
    any state: the surge up to then has been seen (and told, or held) already."""
    stmt = (
        select(Alert.kind, func.max(Alert.last_spike_at))
        .where(Alert.watch_id == watch_id, Alert.last_spike_at >= since)
        .group_by(Alert.kind)
    )
    return {AlertKind(kind): at for kind, at in session.execute(stmt)}


def get(session: Session, alert_id: str, *, for_update: bool = False) -> Alert | None:
    stmt = select(Alert).where(Alert.id == alert_id)
    if for_update:
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def record_event(
    session: Session, alert_id: str, type_: str, reason: str, at: datetime, by: str | None
) -> None:
    session.add(AlertEvent(alert_id=alert_id, type=type_, reason=reason, at=at, by=by))


def history(session: Session, alert_id: str) -> list[AlertEvent]:
    stmt = select(AlertEvent).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.id)
    return list(session.scalars(stmt))


def page(
    session: Session,
    *,
    watch_id: str | None,
    state: str | None,
    kind: str | None,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[AlertSnapshot]:
    """Newest first, keyset-paged on (opened_at, id); each with its watch's name from
    the same statement (one per page, not one per alert)."""
    stmt = select(Alert, Watch.name).outerjoin(Watch, Watch.id == Alert.watch_id)
    if watch_id:
        stmt = stmt.where(Alert.watch_id == watch_id)
    if state:
        stmt = stmt.where(Alert.state == state)
    if kind:
        stmt = stmt.where(Alert.kind == kind)
    if before is not None:
        at, aid = before
        stmt = stmt.where((Alert.opened_at < at) | ((Alert.opened_at == at) & (Alert.id < aid)))
    stmt = stmt.order_by(Alert.opened_at.desc(), Alert.id.desc()).limit(limit)
    return [snapshot(a, name or a.watch_id) for a, name in session.execute(stmt)]


def get_snapshot(session: Session, alert_id: str) -> AlertSnapshot | None:
    """One alert as shown, its watch's name read in the same statement."""
    stmt = (
        select(Alert, Watch.name)
        .outerjoin(Watch, Watch.id == Alert.watch_id)
        .where(Alert.id == alert_id)
    )
    row = session.execute(stmt).first()
    return None if row is None else snapshot(row[0], row[1] or row[0].watch_id)


def snapshot(alert: Alert, watch_name: str) -> AlertSnapshot:
    return AlertSnapshot(
        id=alert.id,
        watch_id=alert.watch_id,
        watch_name=watch_name,
        kind=AlertKind(alert.kind),
        state=AlertState(alert.state),
        severity=Severity(alert.severity),
        opened_at=alert.opened_at,
        updated_at=alert.updated_at,
        evidence=alert.evidence,
        guidance=alert.guidance,
        acknowledged_by=alert.acknowledged_by,
        acknowledged_at=alert.acknowledged_at,
        snoozed_until=alert.snoozed_until,
        resolved_by=alert.resolved_by,
        resolved_at=alert.resolved_at,
    )


def snapshot_of(session: Session, alert: Alert) -> AlertSnapshot:
    watch = session.get(Watch, alert.watch_id)
    return snapshot(alert, watch.name if watch else alert.watch_id)
