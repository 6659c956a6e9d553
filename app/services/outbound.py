"""Fan an alert change out into outbox messages: one for Slack, one per subscription.

Slack is routed by severity, as Alertmanager routes: an alert at or above its
watch's `page_min_severity` pages (the watch's Slack channel, else the default
one); below it, it goes to the watch's quiet channel if it names one, else to no
Slack channel. Webhooks get every alert whatever its severity. An alert that has
paged once keeps to the paging channel for the rest of its life, so an escalation
pages at that point and its later changes edit that page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.core.events import envelope
from app.core.model import AlertSnapshot, Severity
from app.db.repos import outbox as outbox_repo
from app.db.repos import subscriptions as subs_repo

SEVERITY_ORDER = tuple(Severity)  # info < warning < critical
DEFAULT_PAGE_MIN = Severity.WARNING.value


@dataclass(frozen=True, slots=True)
class SlackTarget:
    """Where alerts go in Slack; `enabled` is False when no bot token is set."""

    enabled: bool
    default_channel: str | None


def pages(severity: str, page_min_severity: str) -> bool:
    """Is an alert of `severity` at or above the watch's paging threshold?"""
    rank = {s.value: i for i, s in enumerate(SEVERITY_ORDER)}
    return rank.get(severity, len(rank)) >= rank.get(page_min_severity, rank[DEFAULT_PAGE_MIN])


def slack_channel_for(
    session: Session,
    alert: AlertSnapshot,
    *,
    paging_channel: str | None,
    quiet_channel: str | None,
    page_min_severity: str,
) -> str | None:
    """The Slack channel for this change of the alert, or None (no Slack message)."""
    if pages(alert.severity, page_min_severity):
        return paging_channel
    if paging_channel and outbox_repo.queued_to(session, alert.id, paging_channel):
        return paging_channel  # it paged before: stay where the page is
    return quiet_channel


def enqueue_event(
    session: Session,
    *,
    alert: AlertSnapshot,
    event_type: str,
    now: datetime,
    slack: SlackTarget,
    watch_slack_channel: str | None,
    quiet_slack_channel: str | None = None,
    page_min_severity: str = DEFAULT_PAGE_MIN,
) -> int:
    """Queue the event for every target, in the caller's transaction. Returns how many."""
    body = envelope(event_type, now, alert)
    queued = 0
    channel = (
        slack_channel_for(
            session,
            alert,
            paging_channel=watch_slack_channel or slack.default_channel,
            quiet_channel=quiet_slack_channel,
            page_min_severity=page_min_severity,
        )
        if slack.enabled
        else None
    )
    if channel:
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
