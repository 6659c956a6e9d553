"""What a person does to an alert (REST or Slack button): acknowledge, snooze, resolve."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.core.lifecycle import check_acknowledge, check_resolve, check_snooze
from app.core.model import AlertSnapshot, AlertState
from app.db.repos import alerts as alerts_repo
from app.db.repos import watches as watches_repo
from app.db.tables import Alert
from app.services.outbound import DEFAULT_PAGE_MIN, SlackTarget, enqueue_event


class AlertNotFound(LookupError):
    def __init__(self, alert_id: str) -> None:
        super().__init__(f"alert {alert_id} not found")
        self.alert_id = alert_id


def _finish(
    session: Session,
    alert_id: str,
    event_type: str,
    reason: str,
    by: str,
    now: datetime,
    slack: SlackTarget,
) -> AlertSnapshot:
    alert = _load(session, alert_id)
    alert.updated_at = now
    watch = watches_repo.get(session, alert.watch_id)
    snap = alerts_repo.snapshot(alert, watch.name if watch else alert.watch_id)
    alerts_repo.record_event(session, alert.id, event_type, reason, now, by)
    enqueue_event(
        session,
        alert=snap,
        event_type=event_type,
        now=now,
        slack=slack,
        watch_slack_channel=watch.slack_channel if watch else None,
        quiet_slack_channel=watch.quiet_slack_channel if watch else None,
        page_min_severity=watch.page_min_severity if watch else DEFAULT_PAGE_MIN,
    )
    return snap


def _load(session: Session, alert_id: str) -> Alert:
    alert = alerts_repo.get(session, alert_id, for_update=True)
    if alert is None:
        raise AlertNotFound(alert_id)
    return alert


def acknowledge(
    session: Session, *, alert_id: str, by: str, now: datetime, slack: SlackTarget
) -> AlertSnapshot:
    alert = _load(session, alert_id)
    check_acknowledge(AlertState(alert.state))
    alert.state = AlertState.ACKNOWLEDGED.value
    alert.acknowledged_by = by
    alert.acknowledged_at = now
    alert.snoozed_until = None
    return _finish(session, alert_id, "alert.acknowledged", "acknowledged", by, now, slack)


def snooze(
    session: Session,
    *,
    alert_id: str,
    by: str,
    until: datetime | None,
    now: datetime,
    slack: SlackTarget,
) -> AlertSnapshot:
    alert = _load(session, alert_id)
    alert.snoozed_until = check_snooze(AlertState(alert.state), until, now)
    alert.state = AlertState.SNOOZED.value
    return _finish(session, alert_id, "alert.updated", "snoozed", by, now, slack)


def resolve(
    session: Session,
    *,
    alert_id: str,
    by: str,
    now: datetime,
    slack: SlackTarget,
    reason: str = "resolved",
) -> AlertSnapshot:
    alert = _load(session, alert_id)
    check_resolve(AlertState(alert.state))
    alert.state = AlertState.RESOLVED.value
    alert.resolved_by = by
    alert.resolved_at = now
    return _finish(session, alert_id, "alert.resolved", reason, by, now, slack)


def run_command(
    session: Session,
    *,
    command: str,
    alert_id: str,
    by: str,
    now: datetime,
    slack: SlackTarget,
    until: datetime | None = None,
) -> AlertSnapshot:
    """acknowledge | snooze | resolve by name (REST routes and Slack buttons)."""
    if command == "acknowledge":
        return acknowledge(session, alert_id=alert_id, by=by, now=now, slack=slack)
    if command == "snooze":
        return snooze(session, alert_id=alert_id, by=by, until=until, now=now, slack=slack)
    if command == "resolve":
        return resolve(session, alert_id=alert_id, by=by, now=now, slack=slack)
    raise ValueError(f"unknown alert command {command!r}")
