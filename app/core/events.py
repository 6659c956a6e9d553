"""Outbound event envelopes: {type, timestamp, data} for alert changes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.core.model import AlertKind, AlertSnapshot

ALERT_EVENTS = ("alert.opened", "alert.updated", "alert.acknowledged", "alert.resolved")
# For a scheduling tool: hold queued celebratory posts while a negative or parody
# surge of a watch is unresolved (one pause per such alert opened; resume_ok once
# the last of them resolves). Webhooks only; Slack shows a line in the alert.
PAUSE_RECOMMENDED = "publishing.pause_recommended"
RESUME_OK = "publishing.resume_ok"
PUBLISHING_EVENTS = (PAUSE_RECOMMENDED, RESUME_OK)
EVENTS = ALERT_EVENTS + PUBLISHING_EVENTS
PAUSE_KINDS = frozenset({AlertKind.NEGATIVE_SURGE.value, AlertKind.PARODY_SURGE.value})


def iso(ts: datetime | None) -> str | None:
    if ts is None:
        return None
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alert_data(alert: AlertSnapshot) -> dict[str, Any]:
    """The alert as the API and webhooks show it (JSON-ready)."""
    return {
        "id": alert.id,
        "watch_id": alert.watch_id,
        "watch_name": alert.watch_name,
        "kind": str(alert.kind),
        "state": str(alert.state),
        "severity": str(alert.severity),
        "opened_at": iso(alert.opened_at),
        "updated_at": iso(alert.updated_at),
        "acknowledged_by": alert.acknowledged_by,
        "acknowledged_at": iso(alert.acknowledged_at),
        "snoozed_until": iso(alert.snoozed_until),
        "resolved_by": alert.resolved_by,
        "resolved_at": iso(alert.resolved_at),
        "evidence": alert.evidence,
        "guidance": alert.guidance,
    }


def envelope(event_type: str, at: datetime, alert: AlertSnapshot) -> dict[str, Any]:
    if event_type not in ALERT_EVENTS:
        raise ValueError(f"unknown event type {event_type!r}")
    return {"type": event_type, "timestamp": iso(at), "data": alert_data(alert)}


def pauses_publishing(kind: str) -> bool:
    """Does an unresolved alert of this kind mean celebratory posts should wait?"""
    return str(kind) in PAUSE_KINDS


def publishing_envelope(
    event_type: str, at: datetime, alert: AlertSnapshot, reason: str
) -> dict[str, Any]:
    """publishing.* event: the watch, and the alert that caused it, with why."""
    if event_type not in PUBLISHING_EVENTS:
        raise ValueError(f"unknown event type {event_type!r}")
    return {
        "type": event_type,
        "timestamp": iso(at),
        "data": {
            "watch_id": alert.watch_id,
            "watch_name": alert.watch_name,
            "alert_id": alert.id,
            "kind": str(alert.kind),
            "reason": reason,
        },
    }
