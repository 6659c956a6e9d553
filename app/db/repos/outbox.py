"""Outbox: notifications committed with the alert change; claimed, sent, recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.orm import Session, aliased

from app.db.base import new_id
from app.db.tables import DeliveryAttempt, OutboxMessage, SlackMessageRef


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


def target_key(target: str, subscription_id: str | None, slack_channel: str | None) -> str:
    """The peer a message goes to: its subscription, or its Slack channel. Delivery
    runs one sender at a time per key, so a slow peer holds up only itself."""
    if target == "slack":
        return f"slack:{slack_channel or ''}"
    return f"sub:{subscription_id or ''}"


def _key_filter(key: str) -> ColumnElement[bool]:
    kind, _, value = key.partition(":")
    if kind == "slack":
        return (OutboxMessage.target == "slack") & (OutboxMessage.slack_channel == value)
    if not value:
        return (OutboxMessage.target != "slack") & OutboxMessage.subscription_id.is_(None)
    return (OutboxMessage.target != "slack") & (OutboxMessage.subscription_id == value)


def _no_earlier_pending() -> ColumnElement[bool]:
    """No older message for the same alert and target (the same subscription, or
    Slack) is still pending: each target gets one alert's events in the order they
    were made, whatever retries, leases and crashes happen between them. An older
    message that went dead no longer holds the later ones back."""
    earlier = aliased(OutboxMessage)
    return ~exists().where(
        earlier.alert_id == OutboxMessage.alert_id,
        earlier.target == OutboxMessage.target,
        earlier.subscription_id.is_not_distinct_from(OutboxMessage.subscription_id),
        earlier.state == "pending",
        (earlier.created_at < OutboxMessage.created_at)
        | ((earlier.created_at == OutboxMessage.created_at) & (earlier.id < OutboxMessage.id)),
    )


def claim_due(session: Session, now: datetime, lease: timedelta, limit: int = 50) -> list[str]:
    """Take up to `limit` due messages, leasing them so no other worker sends them."""
    return [msg_id for msg_id, _ in claim_due_by_target(session, now, lease, limit=limit)]


def _due(now: datetime) -> list[ColumnElement[bool]]:
    """Pending, its next attempt has come, not leased (a crashed claim becomes due
    again when its lease runs out), and no older message of its alert for the same
    target pending (per-target order)."""
    return [
        OutboxMessage.state == "pending",
        OutboxMessage.next_attempt_at <= now,
        (OutboxMessage.locked_until.is_(None)) | (OutboxMessage.locked_until <= now),
        _no_earlier_pending(),
    ]


def due_targets(
    session: Session, now: datetime, *, limit: int, skip: frozenset[str] = frozenset()
) -> list[str]:
    """Keys of up to `limit` targets with a due message, the longest-waiting first,
    leaving out `skip` (targets this worker is already sending to)."""
    cols = (OutboxMessage.target, OutboxMessage.subscription_id, OutboxMessage.slack_channel)
    stmt = (
        select(*cols).where(*_due(now)).group_by(*cols).order_by(func.min(OutboxMessage.created_at))
    )
    busy_subs = [k.partition(":")[2] for k in skip if k.startswith("sub:")]
    busy_channels = [k.partition(":")[2] for k in skip if k.startswith("slack:")]
    if busy_subs:
        stmt = stmt.where(
            (OutboxMessage.target == "slack")
            | func.coalesce(OutboxMessage.subscription_id, "").not_in(busy_subs)
        )
    if busy_channels:
        stmt = stmt.where(
            (OutboxMessage.target != "slack")
            | func.coalesce(OutboxMessage.slack_channel, "").not_in(busy_channels)
        )
    return [target_key(*row) for row in session.execute(stmt.limit(limit))]


def claim_due_by_target(
    session: Session,
    now: datetime,
    lease: timedelta,
    *,
    limit: int = 50,
    only: str | None = None,
) -> list[tuple[str, str]]:
    """Take up to `limit` due messages (of target `only`, if given), oldest first,
    leasing them so no other worker sends them; returns (id, target key) pairs.

    A message is due when it is pending, its next attempt has come, it is not leased
    and no older message of its alert for the same target is pending (per-target
    order). On PostgreSQL the rows are locked with SKIP LOCKED, so two workers never
    take the same one."""
    stmt = (
        select(
            OutboxMessage.id,
            OutboxMessage.target,
            OutboxMessage.subscription_id,
            OutboxMessage.slack_channel,
        )
        .where(*_due(now))
        .order_by(OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
    )
    if only is not None:
        stmt = stmt.where(_key_filter(only))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxMessage)
    taken = [(row[0], target_key(*row[1:])) for row in session.execute(stmt)]
    if taken:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_([msg_id for msg_id, _ in taken]))
            .values(locked_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return taken


def release(session: Session, held: dict[str, datetime]) -> int:
    """Give back claims not sent (e.g. at shutdown): each row whose lease is still
    the one given is due again at once. Returns how many were released."""
    released = 0
    for msg_id, until in held.items():
        done = session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == msg_id,
                OutboxMessage.state == "pending",
                OutboxMessage.locked_until == until,
            )
            .values(locked_until=None)
            .execution_options(synchronize_session=False)
        )
        released += done.rowcount or 0  # type: ignore[attr-defined]
    return released


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


def add_attempt(
    session: Session,
    msg: OutboxMessage,
    at: datetime,
    duration_ms: int,
    status: int | None,
    outcome: str,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Record one try at sending `msg` (after mark_*: `msg.attempts` counts it)."""
    session.add(
        DeliveryAttempt(
            id=new_id("att"),
            outbox_id=msg.id,
            subscription_id=msg.subscription_id,
            alert_id=msg.alert_id,
            target=msg.target,
            event_type=msg.event_type,
            attempt=msg.attempts,
            attempted_at=at,
            duration_ms=duration_ms,
            status_code=status,
            outcome=outcome,
            error=error[:500] if error else None,
            next_attempt_at=next_attempt_at,
        )
    )


def attempts_page(
    session: Session,
    subscription_id: str,
    *,
    before: tuple[datetime, str] | None,
    limit: int,
) -> list[DeliveryAttempt]:
    """A subscription's delivery attempts, newest first, after the cursor `before`."""
    stmt = select(DeliveryAttempt).where(DeliveryAttempt.subscription_id == subscription_id)
    if before is not None:
        at, att_id = before
        stmt = stmt.where(
            (DeliveryAttempt.attempted_at < at)
            | ((DeliveryAttempt.attempted_at == at) & (DeliveryAttempt.id < att_id))
        )
    stmt = stmt.order_by(DeliveryAttempt.attempted_at.desc(), DeliveryAttempt.id.desc())
    return list(session.scalars(stmt.limit(limit)))


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
