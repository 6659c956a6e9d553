"""Fan an alert change out into outbox messages: one for Slack, one per subscription."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.core.events import envelope
from app.core.model import AlertSnapshot
from app.db.repos import outbox as outbox_repo
from app.db.repos import subscriptions as subs_repo


@dataclass(frozen=True, slots=True)
class SlackTarget:
    """Where alerts go in Slack; `enabled` is False when no bot token is set."""

    enabled: bool
    default_channel: str | None


def enqueue_event(
    session: Session,
    *,
    alert: AlertSnapshot,
    event_type: str,
    now: datetime,
    slack: SlackTarget,
    watch_slack_channel: str | None,
) -> int:
    """Queue the event for every target, in the caller's transaction. Returns how many."""
    body = envelope(event_type, now, alert)
    queued = 0
    channel = watch_slack_channel or slack.default_channel
    if slack.enabled and channel:
        outbox_repo.enqueue(
            session,
            alert_id=alert.id,
            target="slack",
            event_type=event_type,
            payload=body,
            now=now,
            slack_channel=channel,
        )
        queued += 1
    for sub in subs_repo.active_for(session, event_type):
        outbox_repo.enqueue(
            session,
            alert_id=alert.id,
            target="webhook",
            event_type=event_type,
            payload=body,
            now=now,
            subscription_id=sub.id,
        )
        queued += 1
    return queued
