"""Deliver the outbox with one sender per target, side by side.

The scheduler calls `tick()` every second. The leases of messages in flight are
renewed by a heartbeat thread every second, and by each tick (so a lease can be
short: a dead worker's claims are due again within LEASE). A tick claims the
oldest due message of each target that has no sender running here, and hands each
to the pool. A target's sender sends its messages
one after another (per-target order), claiming the next due one of its own target
when it is done, up to TURN messages; then it gives its thread back, so a busy
target cannot keep the others waiting for a thread. A hanging webhook receiver or
Slack channel holds up only its own sender, bounded by the clients' timeouts.

`workers=0` runs everything inline in the caller (the CLI's one-shot run, and
databases that cannot be shared between threads: SQLite in memory).
"""

from __future__ import annotations

import logging
import random
import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.orm import Session, sessionmaker

from app.core.ports import Clock, SlackPort, WebhookPort
from app.db.repos import outbox as outbox_repo
from app.db.session import unit_of_work
from app.services.delivery import LEASE, Claim, DrainResult, drain_outbox, send_claimed

log = logging.getLogger(__name__)

WORKERS = 8  # senders at a time; each holds a database connection only briefly
TURN = 20  # messages a target's sender sends before it gives its thread back
RENEW_WHEN = LEASE / 2  # a lease in flight is renewed once no more than this is left
BEAT_SECONDS = 1.0  # how often the heartbeat thread looks at the leases in flight


class Dispatcher:
    """Owns the delivery pool, the targets busy here and the claims in flight."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        clock: Clock,
        slack: SlackPort | None,
        webhooks: WebhookPort,
        workers: int = WORKERS,
        rng: random.Random | None = None,
    ) -> None:
        self._factory = factory
        self._clock = clock
        self._slack = slack
        self._webhooks = webhooks
        self._rng = rng or random.Random()
        self._workers = workers
        self._pool = (
            ThreadPoolExecutor(workers, thread_name_prefix="deliver") if workers > 0 else None
        )
        self._lock = threading.Lock()
        self._busy: set[str] = set()
        self._inflight: dict[str, Claim] = {}
        self._result = DrainResult()
        self._stopping = threading.Event()
        self._filling = threading.Lock()  # one claimer at a time: one sender per target
        self._beat: threading.Thread | None = None

    def tick(self) -> DrainResult:
        """Renew leases in flight and start senders for targets with due messages.
        Returns immediately with the outcomes recorded since the last tick (inline:
        drains, then returns what it did)."""
        if self._pool is None:
            return drain_outbox(
                self._factory,
                clock=self._clock,
                slack=self._slack,
                webhooks=self._webhooks,
                rng=self._rng,
            )
        if self._beat is None:  # renews leases even while the scheduler is late
            self._beat = threading.Thread(target=self._beating, name="deliver-beat", daemon=True)
            self._beat.start()
        self._heartbeat()
        self._fill()
        with self._lock:
            result, self._result = self._result, DrainResult()
        return result

    def busy(self) -> bool:
        """Is any sender running (or waiting for a thread)?"""
        with self._lock:
            return bool(self._busy)

    def shutdown(self) -> None:
        """Stop claiming, let sends in progress finish (each bounded by the clients'
        timeouts), and give back claims not started, so another instance can send
        them at once instead of after their lease."""
        self._stopping.set()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._beat is not None:
            self._beat.join(5)
        with self._lock:
            left = {c.id: c.held for c in self._inflight.values()}
            self._inflight.clear()
        if left:
            try:
                with unit_of_work(self._factory) as session:
                    n = outbox_repo.release(session, left)
                log.info("delivery: released %d claims at shutdown", n)
            except Exception:  # noqa: BLE001 - at worst they wait out their lease
                log.exception("delivery: releasing claims at shutdown failed")

    # internals ------------------------------------------------------------------
    def _beating(self) -> None:
        while not self._stopping.wait(BEAT_SECONDS):
            try:
                self._heartbeat()
            except Exception:  # noqa: BLE001 - the next beat tries again
                log.exception("delivery: renewing leases failed")

    def _heartbeat(self) -> None:
        now = self._clock.now()
        with self._lock:
            claims = list(self._inflight.values())
        for claim in claims:
            # An expired lease is not renewed: another worker may have taken it.
            if now < claim.held and claim.held - now <= RENEW_WHEN:
                with claim.lock, unit_of_work(self._factory) as session:
                    renewed = outbox_repo.renew_lease(session, claim.id, claim.held, now, LEASE)
                    if renewed is not None:
                        claim.held = renewed

    def _fill(self) -> None:
        """Claim the oldest due message of each idle target, up to the free senders."""
        with self._filling:
            self._fill_locked()

    def _fill_locked(self) -> None:
        if self._stopping.is_set():
            return
        with self._lock:
            free = self._workers - len(self._busy)
            skip = frozenset(self._busy)
        if free <= 0:
            return
        now = self._clock.now()
        with unit_of_work(self._factory) as session:
            keys = outbox_repo.due_targets(session, now, limit=free, skip=skip)
        taken: list[tuple[str, str]] = []
        for key in keys:
            with unit_of_work(self._factory) as session:
                taken += outbox_repo.claim_due_by_target(session, now, LEASE, limit=1, only=key)
        for msg_id, key in taken:
            claim = Claim(msg_id, key, now + LEASE)
            with self._lock:
                self._busy.add(key)
                self._inflight[msg_id] = claim
            assert self._pool is not None
            self._pool.submit(self._run_target, claim)

    def _run_target(self, first: Claim) -> None:
        key = first.key
        claim: Claim | None = first
        sent = 0
        try:
            while claim is not None and not self._stopping.is_set():
                send_claimed(
                    self._factory,
                    claim,
                    self._clock,
                    self._slack,
                    self._webhooks,
                    self._rng,
                    self._result,
                )
                with self._lock:
                    self._inflight.pop(claim.id, None)
                claim = None
                sent += 1
                if sent >= TURN or self._stopping.is_set():
                    break
                claim = self._next(key)
        except Exception:
            log.exception("delivery to %s failed unexpectedly", key)
            if claim is not None:  # not renewed any more: due again after its lease
                with self._lock:
                    self._inflight.pop(claim.id, None)
        finally:
            with self._lock:
                self._busy.discard(key)
        if sent >= TURN:
            try:
                self._fill()  # this target (if still due) and others get their turn
            except Exception:
                log.exception("delivery: claiming failed")

    def _next(self, key: str) -> Claim | None:
        now = self._clock.now()
        with unit_of_work(self._factory) as session:
            taken = outbox_repo.claim_due_by_target(session, now, LEASE, limit=1, only=key)
        if not taken:
            return None
        claim = Claim(taken[0][0], key, now + LEASE)
        with self._lock:
            self._inflight[claim.id] = claim
        return claim
