"""Drain the outbox: claim due messages, send each, record the outcome.

"Sent" is recorded only after the send succeeded, in the same short transaction
that stores the Slack message's ts. A crash between a send and that commit can
repeat that one send (at-least-once); nothing is ever lost, and a restart does
not re-send what was recorded as sent.

A claim is a lease (`locked_until`). A run claims at most what it can send within
one lease at the adapters' per-call timeout, and renews each row's lease just
before sending it, only if the lease is still the one it took: a row whose lease
ran out and that another run claimed since is left to that run, so two instances
never both send it. A target deleted while its message is in flight (the
subscription, and with it the row) is dropped with a log line; the run goes on.
"""

from __future__ import annotations

import json
import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.core.ports import Clock, DeliveryError, SlackPort, WebhookPort
from app.db.repos import outbox as outbox_repo
from app.db.repos import subscriptions as subs_repo
from app.db.session import unit_of_work
from app.db.tables import OutboxMessage, Subscription
from app.notify.slack_blocks import render_alert

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=2)
# The Slack and webhook clients' timeout per call (SlackNotifier, WebhookSender):
# a run claims no more rows at a time than it can send within one lease at this pace.
SEND_TIMEOUT = timedelta(seconds=10)
CLAIM_BATCH = max(1, LEASE // SEND_TIMEOUT)
MAX_ATTEMPTS = 12
BASE_DELAY = 5.0
MAX_DELAY = 3600.0
WAIT_FOR_EARLIER = timedelta(seconds=2)


@dataclass(slots=True)
class DrainResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)

    def count(self, outcome: str, error: str | None) -> None:
        """Add one "sent", "retried" or "dead" (and its error)."""
        setattr(self, outcome, getattr(self, outcome) + 1)
        if error:
            self.errors.append(error)


def backoff(attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
    """Exponential backoff with ±20 % jitter, at least what the peer asked for."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1)) * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def drain_outbox(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    slack: SlackPort | None,
    webhooks: WebhookPort,
    rng: random.Random | None = None,
    limit: int = 50,
) -> DrainResult:
    """Send up to `limit` due messages, claimed a lease's worth (CLAIM_BATCH) at a time."""
    rng = rng or random.Random()
    result = DrainResult()
    budget = limit
    while budget > 0:
        batch = min(CLAIM_BATCH, budget)
        claimed_at = clock.now()
        with unit_of_work(factory) as session:
            ids = outbox_repo.claim_due(session, claimed_at, LEASE, batch)
        budget -= len(ids)
        for msg_id in ids:
            _send_claimed(factory, msg_id, claimed_at + LEASE, clock, slack, webhooks, rng, result)
        if len(ids) < batch:
            break  # nothing more is due
    return result


def _send_claimed(
    factory: sessionmaker[Session],
    msg_id: str,
    lease: datetime,
    clock: Clock,
    slack: SlackPort | None,
    webhooks: WebhookPort,
    rng: random.Random,
    result: DrainResult,
) -> None:
    """Renew the row's lease if this run still holds it, then send it and record how
    that went. `lease` is the `locked_until` this run's claim set."""
    with unit_of_work(factory) as session:
        held = outbox_repo.renew_lease(session, msg_id, lease, clock.now(), LEASE)
        if held is None:
            log.info(
                "delivery %s skipped: %s", msg_id, _not_held(session.get(OutboxMessage, msg_id))
            )
            return
    target = "?"
    try:
        with unit_of_work(factory) as session:
            msg = session.get(OutboxMessage, msg_id)
            if msg is None or msg.state != "pending" or msg.locked_until != held:
                return
            target = f"subscription {msg.subscription_id}" if msg.subscription_id else msg.target
            outcome = _deliver_one(session, msg, clock.now(), slack, webhooks, rng)
    except StaleDataError:
        # The row went while it was in flight: its subscription was deleted (the
        # rows cascade with it). Nothing is left to record; carry on with the rest.
        log.info("delivery %s dropped: %s was deleted while it was being sent", msg_id, target)
        return
    if outcome is not None:
        result.count(*outcome)


def _not_held(msg: OutboxMessage | None) -> str:
    """Why a claimed row is no longer this run's to send."""
    if msg is None:
        return "its target was deleted (the subscription's rows go with it)"
    if msg.state != "pending":
        return f"already {msg.state}"
    return "its lease ran out and another run has taken it"


def _deliver_one(
    session: Session,
    msg: OutboxMessage,
    now: datetime,
    slack: SlackPort | None,
    webhooks: WebhookPort,
    rng: random.Random,
) -> tuple[str, str | None] | None:
    """Send one message and update its row. Returns the DrainResult counter to add
    to ("sent", "retried" or "dead") with the error, or None (it waits its turn);
    counted by the caller once the row's commit went through."""
    try:
        if msg.target == "slack":
            done = _send_slack(session, msg, now, slack)
            if not done:  # waits for an earlier message of the same alert
                msg.next_attempt_at = now + WAIT_FOR_EARLIER
                msg.locked_until = None
                return None
        else:
            _send_webhook(session, msg, now, webhooks)
        outbox_repo.mark_sent(msg, now)
        return "sent", None
    except DeliveryError as exc:
        error = f"{msg.target}: {exc.reason}"
        if exc.gone and msg.subscription_id:
            sub = session.get(Subscription, msg.subscription_id)
            if sub is not None:
                subs_repo.disable(sub, now, "endpoint answered 410 Gone")
        if exc.retryable and msg.attempts + 1 < MAX_ATTEMPTS:
            outbox_repo.mark_retry(
                msg, now + backoff(msg.attempts + 1, exc.retry_after, rng), error
            )
            log.warning("delivery %s failed, will retry: %s", msg.id, exc.reason)
            return "retried", error
        outbox_repo.mark_dead(msg, error)
        log.error("delivery %s failed for good: %s", msg.id, exc.reason)
        return "dead", error


def _snapshot(payload: dict[str, Any]) -> AlertSnapshot:
    data = payload["data"]
    return AlertSnapshot(
        id=data["id"],
        watch_id=data["watch_id"],
        watch_name=data["watch_name"],
        kind=AlertKind(data["kind"]),
        state=AlertState(data["state"]),
        severity=Severity(data["severity"]),
        opened_at=datetime.fromisoformat(data["opened_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        evidence=data["evidence"],
        guidance=data["guidance"],
        acknowledged_by=data.get("acknowledged_by"),
        acknowledged_at=_dt(data.get("acknowledged_at")),
        snoozed_until=_dt(data.get("snoozed_until")),
        resolved_by=data.get("resolved_by"),
        resolved_at=_dt(data.get("resolved_at")),
    )


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _send_slack(
    session: Session, msg: OutboxMessage, now: datetime, slack: SlackPort | None
) -> bool:
    if slack is None:
        raise DeliveryError("Slack is not configured", retryable=False)
    text, blocks = render_alert(_snapshot(msg.payload))
    ref = outbox_repo.slack_ref(session, msg.alert_id)
    moved = ref is not None and outbox_repo.posted_elsewhere(session, msg)
    if ref is not None and not moved:
        slack.update(ref.channel, ref.ts, text, blocks)
        return True
    # No message yet (or only one in another channel, e.g. the quiet channel of an
    # alert that now pages): an earlier one still pending may post it, so wait for it
    # (the check includes messages another worker holds). Otherwise (the first post
    # failed for good, or Slack was off when the alert opened, or this is its first
    # page) post the current state afresh. The ts is stored in this message's own
    # commit, before any later message of the alert may run (they wait for this one),
    # so they edit this message in place.
    if outbox_repo.earlier_pending(session, msg):
        return False
    if ref is not None:  # moved: the old message shows the change too, best effort
        try:
            slack.update(ref.channel, ref.ts, text, blocks)
        except DeliveryError as exc:
            log.info("delivery %s: the earlier Slack message was not updated: %s", msg.id, exc)
    channel, ts = slack.post(msg.slack_channel or "", text, blocks)
    outbox_repo.save_slack_ref(session, msg.alert_id, channel, ts, now)
    return True


def _send_webhook(
    session: Session, msg: OutboxMessage, now: datetime, webhooks: WebhookPort
) -> None:
    sub = session.get(Subscription, msg.subscription_id) if msg.subscription_id else None
    if sub is None or sub.disabled_at is not None:
        raise DeliveryError("subscription deleted or disabled", retryable=False)
    body = json.dumps(msg.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
    webhooks.send(sub.url, sub.secret, msg.id, now, body)
