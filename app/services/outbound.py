"""Fan an alert change out into outbox messages: one for Slack, one per subscription.

Slack is routed by severity, as Alertmanager routes: an alert at or above its
watch's `page_min_severity` pages (the watch's Slack channel, else the default
one); below it, it goes to the watch's quiet channel if it names one, else to no
Slack channel. Webhooks get every alert whatever its severity. An alert that has
paged once keeps to the paging channel for the rest of its life, so an escalation
pages at that point and its later changes edit that page.

A negative or parody surge also tells publishing webhooks: `publishing.pause_recommended`
when it opens, `publishing.resume_ok` when it resolves and no other negative or
parody alert of its watch is still unresolved. Only subscriptions that list them
get them (a subscription always names its events; there is no "all")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.core.events import (
    PAUSE_RECOMMENDED,
    RESUME_OK,
    envelope,
    pauses_publishing,
    publishing_envelope,
)
from app.core.model import AlertSnapshot, Severity
from app.db.repos import alerts as alerts_repo
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
    return queued + _enqueue_publishing(session, alert, event_type, now)


def publishing_event(session: Session, alert: AlertSnapshot, event_type: str) -> str | None:
    """The publishing.* event this alert change implies, if any."""
    if not pauses_publishing(alert.kind):
        return None
    if event_type == "alert.opened":
        return PAUSE_RECOMMENDED
    if event_type != "alert.resolved":
        return None
    still_open = alerts_repo.open_alerts(session, alert.watch_id).values()
    if any(pauses_publishing(a.kind) and a.id != alert.id for a in still_open):
        return None  # another negative/parody surge of this watch keeps it paused
    return RESUME_OK


def _enqueue_publishing(
    session: Session, alert: AlertSnapshot, event_type: str, now: datetime
) -> int:
    publishing = publishing_event(session, alert, event_type)
    if publishing is None:
        return 0
    label = str(alert.kind).replace("_", " ")
    if publishing == PAUSE_RECOMMENDED:
        reason = f"{label} opened: hold scheduled celebratory posts until it settles"
    else:
        by = f" by {alert.resolved_by}" if alert.resolved_by else ""
        reason = f"{label} resolved{by}; no negative or parody surge is open on this watch"
    body = publishing_envelope(publishing, now, alert, reason)
    subs = subs_repo.active_for(session, publishing)
    for sub in subs:
        outbox_repo.enqueue(
            session,
            alert_id=alert.id,
            target="webhook",
            event_type=publishing,
            payload=body,
            now=now,
            subscription_id=sub.id,
        )
    return len(subs)
