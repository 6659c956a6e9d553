"""Outbox: notifications committed with the alert change; claimed, sent, recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.base import new_id
from app.db.tables import OutboxMessage, SlackMessageRef


def enqueue(
    session: Session,
    *,
    alert_id: str,
    target: str,
    event_type: str,
    payload: dict[str, Any],
    now: datetime,
    subscription_id: str | None = None,
    slack_channel: str | None = None,
) -> OutboxMessage:
    msg = OutboxMessage(
        id=new_id("msg"),
        alert_id=alert_id,
        target=target,
        subscription_id=subscription_id,
        slack_channel=slack_channel,
        event_type=event_type,
        payload=payload,
        created_at=now,
        state="pending",
        next_attempt_at=now,
        attempts=0,
    )
    session.add(msg)
    return msg


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[str]:
    """Take up to `limit` due messages, leasing them so no other worker sends them.

    A crashed claim becomes due again when its lease runs out. On PostgreSQL the
    rows are locked with SKIP LOCKED, so two workers never take the same one."""
    stmt = (
        select(OutboxMessage.id)
        .where(
            OutboxMessage.state == "pending",
            OutboxMessage.next_attempt_at <= now,
            (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until <= now),
        )
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(
            update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(locked_until=now + lease)
        )
    return ids


def renew_lease(
    session: Session, msg_id: str, held: datetime, now: datetime, lease: timedelta
) -> datetime | None:
    """Extend the lease of a pending message to `now + lease`, if its lease is still
    `held` (the one the caller's claim set). Returns the new lease, or None when the
    row is gone, no longer pending, or another worker claimed it since (its lease ran
    out): the caller must not send it then."""
    renewed = now + lease
    stmt = (
        update(OutboxMessage)
        .where(
            OutboxMessage.id == msg_id,
            OutboxMessage.state == "pending",
            OutboxMessage.locked_until == held,
        )
        .values(locked_until=renewed)
        .execution_options(synchronize_session=False)
    )
    done = session.execute(stmt)
    return renewed if done.rowcount == 1 else None  # type: ignore[attr-defined]


def mark_sent(msg: OutboxMessage, now: datetime) -> None:
    msg.state = "sent"
    msg.sent_at = now
    msg.locked_until = None
    msg.attempts += 1
    msg.last_error = None


def mark_retry(msg: OutboxMessage, next_at: datetime, error: str) -> None:
    msg.attempts += 1
    msg.next_attempt_at = next_at
    msg.locked_until = None
    msg.last_error = error[:500]


def mark_dead(msg: OutboxMessage, error: str) -> None:
    msg.attempts += 1
    msg.state = "dead"
    msg.locked_until = None
    msg.last_error = error[:500]


def earlier_pending(session: Session, msg: OutboxMessage) -> bool:
    """Is an older message for the same alert and target still unsent?

    "Older" is claim order, (created_at, id): a strict order, so of two messages
    made at the same instant exactly one goes first."""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.alert_id == msg.alert_id,
        OutboxMessage.target == msg.target,
        OutboxMessage.subscription_id.is_(None)
        if msg.subscription_id is None
        else OutboxMessage.subscription_id == msg.subscription_id,
        OutboxMessage.state == "pending",
        (OutboxMessage.created_at < msg.created_at)
        | ((OutboxMessage.created_at == msg.created_at) & (OutboxMessage.id < msg.id)),
    )
    return session.scalar(stmt.limit(1)) is not None


def queued_to(session: Session, alert_id: str, slack_channel: str) -> bool:
    """Was any Slack message of this alert ever queued for `slack_channel`?"""
    stmt = select(OutboxMessage.id).where(
        OutboxMessage.alert_id == alert_id,
        OutboxMessage.target == "slack",
        OutboxMessage.slack_channel == slack_channel,
    )
    return session.scalar(stmt.limit(1)) is not None


def posted_elsewhere(session: Session, msg: OutboxMessage) -> bool:
    """Does the alert's Slack message live in another channel than `msg` is for?

    True when earlier messages of the alert were sent to another channel and none to
    this one: the alert paged after it was posted quietly (or the watch's channel
    changed), so `msg` posts a new message here instead of editing the old one."""
    sent = select(OutboxMessage.id).where(
        OutboxMessage.alert_id == msg.alert_id,
        OutboxMessage.target == "slack",
        OutboxMessage.state == "sent",
        OutboxMessage.id != msg.id,
    )
    here = OutboxMessage.slack_channel == msg.slack_channel
    if session.scalar(sent.where(here).limit(1)) is not None:
        return False
    return session.scalar(sent.where(~here).limit(1)) is not None


def slack_ref(session: Session, alert_id: str) -> SlackMessageRef | None:
    return session.get(SlackMessageRef, alert_id)


def save_slack_ref(session: Session, alert_id: str, channel: str, ts: str, now: datetime) -> None:
    """Record where the alert's Slack message is (a new post replaces the old ref)."""
    ref = session.get(SlackMessageRef, alert_id)
    if ref is None:
        session.add(SlackMessageRef(alert_id=alert_id, channel=channel, ts=ts, posted_at=now))
    else:
        ref.channel, ref.ts, ref.posted_at = channel, ts, now


def counts(session: Session) -> dict[str, int]:
    stmt = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    return {state: n for state, n in session.execute(stmt)}
