"""One thin function per scheduled job: open units of work, call a service, log."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from app.db.repos import watches as watches_repo
from app.db.session import unit_of_work
from app.services.delivery import drain_outbox
from app.services.detection import detect_watch

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)


def detect_watches(runtime: Runtime, *, only_dirty: bool) -> int:
    """Run detection for dirty watches (after ingest) or for all (on the schedule)."""
    started = time.perf_counter()
    with unit_of_work(runtime.session_factory) as session:
        ids = watches_repo.dirty_ids(session) if only_dirty else watches_repo.all_ids(session)
    queued = 0
    for watch_id in ids:
        try:
            with runtime.watch_lock, unit_of_work(runtime.session_factory) as session:
                outcome = detect_watch(
                    session, watch_id=watch_id, now=runtime.clock.now(), slack=runtime.slack_target
                )
            queued += outcome.queued
            if outcome.actions:
                log.info("detect %s: %s", watch_id, outcome.actions)
        except Exception:
            log.exception("detection failed for watch %s", watch_id)
    if queued:
        runtime.kick_delivery()
    if ids:
        log.debug("detected %d watches in %.3fs", len(ids), time.perf_counter() - started)
    return len(ids)


def deliver(runtime: Runtime) -> int:
    result = drain_outbox(
        runtime.session_factory,
        clock=runtime.clock,
        slack=runtime.slack,
        webhooks=runtime.webhooks,
    )
    if result.sent or result.retried or result.dead:
        log.info("delivery: sent=%d retried=%d dead=%d", result.sent, result.retried, result.dead)
    return result.sent
