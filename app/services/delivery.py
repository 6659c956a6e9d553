"""Send claimed outbox messages and record the outcome; `drain_outbox` runs them inline.

"Sent" is recorded only after the send succeeded, in a short transaction that also
stores the Slack message's ts. A crash between a send and that commit can repeat
that one send (at-least-once, under the same webhook-id); nothing is ever lost,
and a restart does not re-send what was recorded as sent. No transaction is open
while a peer is called, so senders for different targets run side by side
(app.services.dispatch) without holding the database.

A claim is a lease (`locked_until`, LEASE: seconds, so a dead worker's claims are
due again quickly). It is renewed just before each send, only if it is still the
lease this worker took, and the dispatcher renews the leases of messages in flight
every tick; a row whose lease ran out and that another worker claimed since is
left to that worker, so two instances do not both send it. Per-target order is
the claim's rule (outbox_repo.claim_due_by_target): a message waits while an older
one of its alert for the same target is pending. A Slack message is rendered from
the alert's current row at send time, so whatever order its edits go out in, the
last one shows the alert as it is now. A target deleted while its message is in
flight (the subscription, and with it the row) is dropped with a log line.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.core.ports import Clock, DeliveryError, SlackPort, WebhookPort
from app.db.repos import alerts as alerts_repo
from app.db.repos import outbox as outbox_repo
from app.db.repos import subscriptions as subs_repo
from app.db.session import unit_of_work
from app.db.tables import OutboxMessage, Subscription
from app.notify.slack_blocks import render_alert

log = logging.getLogger(__name__)

# A claim's lease. Renewed before each send and, while a message is in flight, by
# the dispatcher's tick (every second), so it need not cover a slow send; a crashed
# worker's claims are due again this long after its last renewal.
LEASE = timedelta(seconds=15)
# The Slack and webhook clients' timeout per call (SlackNotifier, WebhookSender):
# an inline run claims no more rows at a time than it can send within one lease.
SEND_TIMEOUT = timedelta(seconds=10)
CLAIM_BATCH = max(1, LEASE // SEND_TIMEOUT)
# Slack: exponential backoff from 5 s to an hour, 12 attempts.
MAX_ATTEMPTS = 12
BASE_DELAY = 5.0
MAX_DELAY = 3600.0
# Webhooks: Svix's schedule. After the first attempt (at once) fails, wait 5 s, then
# 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: eight attempts over about 28 hours, then dead.
WEBHOOK_SCHEDULE = tuple(timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000))
JITTER = 0.2  # each wait is drawn from ±20 % of the scheduled one
WAIT_FOR_EARLIER = timedelta(seconds=2)


@dataclass(slots=True)
class DrainResult:
    sent: int = 0
    retried: int = 0
    dead: int = 0
    errors: list[str] = field(default_factory=list)
    dead_by_target: dict[str, int] = field(default_factory=dict)  # "slack" / "webhook"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, outcome: str, error: str | None, target: str = "") -> None:
        """Add one "sent", "retried" or "dead" (and its error) for a target kind
        ("slack" or "webhook"); thread-safe."""
        with self._lock:
            setattr(self, outcome, getattr(self, outcome) + 1)
            if outcome == "dead":
                self.dead_by_target[target] = self.dead_by_target.get(target, 0) + 1
            if error:
                self.errors.append(error)


@dataclass(slots=True)
class Claim:
    """One claimed row: its target key and the lease (`locked_until`) this worker holds."""

    id: str
    key: str
    held: datetime
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


def renew(factory: sessionmaker[Session], claim: Claim, now: datetime) -> bool:
    """Extend the claim's lease if it is still the one this worker holds."""
    with claim.lock:
        with unit_of_work(factory) as session:
            renewed = outbox_repo.renew_lease(session, claim.id, claim.held, now, LEASE)
        if renewed is None:
            return False
        claim.held = renewed
        return True


def backoff(attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
    """Slack: exponential backoff with jitter, at least what the peer asked for."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    delay *= rng.uniform(1 - JITTER, 1 + JITTER)
    if retry_after is not None:
        delay = max(delay, retry_after)
    return timedelta(seconds=delay)


def retry_delay(
    target: str, attempts: int, retry_after: float | None, rng: random.Random
) -> timedelta | None:
    """How long to wait after `attempts` failed attempts, or None: no more tries.
    A peer's Retry-After (429/503) is honoured when it asks for longer."""
    if target == "slack":
        return backoff(attempts, retry_after, rng) if attempts < MAX_ATTEMPTS else None
    if attempts > len(WEBHOOK_SCHEDULE):
        return None
    delay = WEBHOOK_SCHEDULE[attempts - 1].total_seconds() * rng.uniform(1 - JITTER, 1 + JITTER)
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
    """Send up to `limit` due messages one after another in this thread, claimed a
    lease's worth (CLAIM_BATCH) at a time (the CLI's one-shot run, and tests)."""
    rng = rng or random.Random()
    result = DrainResult()
    budget = limit
    while budget > 0:
        batch = min(CLAIM_BATCH, budget)
        claimed_at = clock.now()
        with unit_of_work(factory) as session:
            taken = outbox_repo.claim_due_by_target(session, claimed_at, LEASE, limit=batch)
        budget -= len(taken)
        for msg_id, key in taken:
            claim = Claim(msg_id, key, claimed_at + LEASE)
            send_claimed(factory, claim, clock, slack, webhooks, rng, result)
        if len(taken) < batch:
            break  # nothing more is due
    return result


@dataclass(slots=True)
class _Job:
    """What a send needs, read in a short transaction before the peer is called."""

    target: str
    subscription: str | None
    attempts: int
    url: str = ""
    secret: str = ""
    body: bytes = b""
    channel: str = ""
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    edit: tuple[str, str] | None = None  # (channel, ts) of the message to update
    post: bool = False  # post a new message (after a best-effort edit of `edit`)
    refused: DeliveryError | None = None  # fails without calling anyone


def send_claimed(
    factory: sessionmaker[Session],
    claim: Claim,
    clock: Clock,
    slack: SlackPort | None,
    webhooks: WebhookPort,
    rng: random.Random,
    result: DrainResult,
) -> None:
    """Renew the claim if this worker still holds it, send the row (no transaction
    open meanwhile) and record how that went."""
    if not renew(factory, claim, clock.now()):
        with unit_of_work(factory) as session:
            why = _not_held(session.get(OutboxMessage, claim.id))
        log.info("delivery %s skipped: %s", claim.id, why)
        return
    with unit_of_work(factory) as session:
        msg = session.get(OutboxMessage, claim.id)
        if msg is None or msg.state != "pending" or msg.locked_until != claim.held:
            return
        target = f"subscription {msg.subscription_id}" if msg.subscription_id else msg.target
        job = _prepare(session, msg, slack)
        if job is None:  # waits for an earlier message of the same alert
            msg.next_attempt_at = clock.now() + WAIT_FOR_EARLIER
            msg.locked_until = None
            return
    now = clock.now()
    error: DeliveryError | None = None
    posted: tuple[str, str] | None = None
    status: int | None = None
    started = time.monotonic()
    try:
        posted, status = _send(job, claim.id, now, slack, webhooks)
    except DeliveryError as exc:
        error, status = exc, exc.status
    tried = _Tried(now, round((time.monotonic() - started) * 1000), status, error, posted)
    try:
        with unit_of_work(factory) as session:
            outcome = _record(session, claim, tried, rng)
    except StaleDataError:
        outcome = None  # deleted between the read and the write of the record
    if outcome == "gone":
        # The row went while it was in flight: its subscription was deleted (the
        # rows cascade with it). Nothing is left to record; carry on with the rest.
        log.info("delivery %s dropped: %s was deleted while it was being sent", claim.id, target)
    elif outcome is not None:
        result.count(*outcome, target=job.target)


def _not_held(msg: OutboxMessage | None) -> str:
    """Why a claimed row is no longer this run's to send."""
    if msg is None:
        return "its target was deleted (the subscription's rows go with it)"
    if msg.state != "pending":
        return f"already {msg.state}"
    return "its lease ran out and another run has taken it"


def _prepare(session: Session, msg: OutboxMessage, slack: SlackPort | None) -> _Job | None:
    """Read what the send needs; None when a Slack message must wait for an earlier one."""
    job = _Job(msg.target, msg.subscription_id, msg.attempts)
    if msg.target != "slack":
        sub = session.get(Subscription, msg.subscription_id) if msg.subscription_id else None
        if sub is None or sub.disabled_at is not None:
            job.refused = DeliveryError("subscription deleted or disabled", retryable=False)
            return job
        job.url, job.secret = sub.url, sub.secret
        job.body = json.dumps(msg.payload, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return job
    if slack is None:
        job.refused = DeliveryError("Slack is not configured", retryable=False)
        return job
    # The alert as it is now, not as it was when this change was queued: an edit that
    # goes out late (a retry, a crash) still shows the current state. A deleted
    # alert's last notices fall back to what was queued.
    alert = alerts_repo.get(session, msg.alert_id)
    current = alerts_repo.snapshot_of(session, alert) if alert else _snapshot(msg.payload)
    job.text, job.blocks = render_alert(current)
    job.channel = msg.slack_channel or ""
    ref = outbox_repo.slack_ref(session, msg.alert_id)
    moved = ref is not None and outbox_repo.posted_elsewhere(session, msg)
    if ref is not None:
        job.edit = (ref.channel, ref.ts)
    if ref is not None and not moved:
        return job
    # No message yet (or only one in another channel, e.g. the quiet channel of an
    # alert that now pages): an earlier one still pending may post it, so wait for it
    # (the claim already holds a message back while an older one of its alert is
    # pending; this guards a race). Otherwise (the first post failed for good, or
    # Slack was off when the alert opened, or this is its first page) post the
    # current state afresh. The ts is stored in this message's own record, before
    # any later message of the alert may be claimed, so they edit it in place.
    if outbox_repo.earlier_pending(session, msg):
        return None
    job.post = True
    return job


def _send(
    job: _Job, msg_id: str, now: datetime, slack: SlackPort | None, webhooks: WebhookPort
) -> tuple[tuple[str, str] | None, int | None]:
    """Call the peer; returns the (channel, ts) of a new Slack post and the HTTP
    status if known. Raises DeliveryError."""
    if job.refused is not None:
        raise job.refused
    if job.target != "slack":
        return None, webhooks.send(job.url, job.secret, msg_id, now, job.body)
    assert slack is not None  # refused above otherwise
    if not job.post:
        assert job.edit is not None
        slack.update(job.edit[0], job.edit[1], job.text, job.blocks)
        return None, 200
    if job.edit is not None:  # moved: the old message shows the change too, best effort
        try:
            slack.update(job.edit[0], job.edit[1], job.text, job.blocks)
        except DeliveryError as exc:
            log.info("delivery %s: the earlier Slack message was not updated: %s", msg_id, exc)
    return slack.post(job.channel, job.text, job.blocks), 200


@dataclass(slots=True)
class _Tried:
    """One attempt: when, how long, what the peer answered."""

    at: datetime
    duration_ms: int
    status: int | None
    error: DeliveryError | None
    posted: tuple[str, str] | None  # (channel, ts) of a new Slack post


def _record(
    session: Session, claim: Claim, tried: _Tried, rng: random.Random
) -> tuple[str, str | None] | str | None:
    """Store the outcome and the attempt. Returns the DrainResult counter to add to
    ("sent", "retried" or "dead") with the error, "gone" (the row was deleted
    meanwhile), or None (another worker holds the row now and records its own
    outcome)."""
    msg = session.get(OutboxMessage, claim.id)
    if msg is None:
        return "gone"
    if msg.state != "pending":
        return None
    now, error = tried.at, tried.error
    if error is None:
        # Sent: recorded even if our lease was lost meanwhile (the other worker's
        # send is the at-least-once repeat, under the same webhook-id).
        if tried.posted is not None:
            channel, ts = tried.posted
            outbox_repo.save_slack_ref(session, msg.alert_id, channel, ts, now)
        outbox_repo.mark_sent(msg, now)
        outbox_repo.add_attempt(session, msg, tried.at, tried.duration_ms, tried.status, "sent")
        return "sent", None
    if msg.locked_until != claim.held:
        return None
    reason = f"{msg.target}: {error.reason}"
    if error.gone and msg.subscription_id:
        sub = session.get(Subscription, msg.subscription_id)
        if sub is not None:
            subs_repo.disable(sub, now, "endpoint answered 410 Gone")
    delay = retry_delay(msg.target, msg.attempts + 1, error.retry_after, rng)
    if error.retryable and delay is not None:
        outbox_repo.mark_retry(msg, now + delay, reason)
        outbox_repo.add_attempt(
            session, msg, now, tried.duration_ms, tried.status, "retried", reason, now + delay
        )
        log.warning("delivery %s failed, will retry: %s", msg.id, error.reason)
        return "retried", reason
    outbox_repo.mark_dead(msg, reason)
    outbox_repo.add_attempt(session, msg, now, tried.duration_ms, tried.status, "dead", reason)
    log.error("delivery %s failed for good: %s", msg.id, error.reason)
    return "dead", reason


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
