"""One thin function per scheduled job: open units of work, call a service, log."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from app.core.channels import masked_spec
from app.db.repos import outbox as outbox_repo
from app.db.repos import watches as watches_repo
from app.db.session import unit_of_work
from app.services.detection import DetectOutcome, detect_watch, preload
from app.services.polling import poll_channel
from app.services.retention import prune

if TYPE_CHECKING:
    from app.runtime import Runtime

log = logging.getLogger(__name__)
# Watches per transaction in a detection pass.
DETECT_CHUNK = 25


def detect_watches(runtime: Runtime, *, only_dirty: bool) -> int:
    """Run detection for dirty watches (after ingest) or for all (on the schedule)."""
    started = time.perf_counter()
    with unit_of_work(runtime.session_factory) as session:
        ids = watches_repo.dirty_ids(session) if only_dirty else watches_repo.all_ids(session)
    queued = 0
    for i in range(0, len(ids), DETECT_CHUNK):
        chunk = ids[i : i + DETECT_CHUNK]
        try:
            outcomes = _detect_chunk(runtime, chunk, isolate=False)
        except Exception:
            # One watch failed: redo the chunk with a savepoint per watch, so the
            # others still get their pass and the failure is logged by name.
            outcomes = _detect_chunk(runtime, chunk, isolate=True)
        for outcome in outcomes:
            queued += outcome.queued
            changed = {k: a for k, a in outcome.actions.items() if not a.startswith("none:")}
            for action in changed.values():
                runtime.metrics.decisions.labels(action.split(":")[0]).inc()
            if any(not a.startswith("touch:") for a in changed.values()):
                log.info("detect %s: %s", outcome.watch_id, changed)
            elif outcome.actions:  # quiet bookkeeping on a running or settled wave
                log.debug("detect %s: %s", outcome.watch_id, outcome.actions)
    if queued:
        runtime.kick_delivery()
    elapsed = time.perf_counter() - started
    runtime.metrics.detect_seconds.observe(elapsed)
    if ids:
        log.debug("detected %d watches in %.3fs", len(ids), elapsed)
    return len(ids)


def _detect_chunk(runtime: Runtime, chunk: list[str], *, isolate: bool) -> list[DetectOutcome]:
    """Detection for a few watches in one transaction (fewer commits); with `isolate`,
    each watch in its own savepoint and a failing one skipped."""
    outcomes: list[DetectOutcome] = []
    with runtime.watch_lock, unit_of_work(runtime.session_factory) as session:
        now = runtime.clock.now()
        loaded = preload(session, chunk, now)

        def one(watch_id: str) -> DetectOutcome:
            return detect_watch(
                session,
                watch_id=watch_id,
                now=now,
                slack=runtime.slack_target,
                preloaded=loaded,
                playbooks=runtime.playbooks,
            )

        for watch_id in chunk:
            if not isolate:
                outcomes.append(one(watch_id))
                continue
            try:
                with session.begin_nested():
                    outcomes.append(one(watch_id))
            except Exception:
                log.exception("detection failed for watch %s", watch_id)
    return outcomes


def deliver(runtime: Runtime) -> int:
    """One delivery tick: under the scheduler it starts a sender per target with due
    messages and returns; without one it drains inline. Counts what was recorded."""
    result = runtime.delivery.tick()
    with unit_of_work(runtime.session_factory) as session:
        counts = outbox_repo.counts(session)
    for state in ("pending", "sent", "dead"):
        runtime.metrics.outbox.labels(state).set(counts.get(state, 0))
    for outcome in ("sent", "retried", "dead"):
        if n := getattr(result, outcome):
            runtime.metrics.deliveries.labels(outcome).inc(n)
    for target, n in result.dead_by_target.items():
        runtime.metrics.dead_deliveries.labels(target).inc(n)
    if result.sent or result.retried or result.dead:
        log.info("delivery: sent=%d retried=%d dead=%d", result.sent, result.retried, result.dead)
    return result.sent


def poll_watches(runtime: Runtime) -> int:
    """Poll every channel of every watch that has channels; returns posts accepted."""
    with unit_of_work(runtime.session_factory) as session:
        specs = [(w, c) for w in watches_repo.with_channels(session) for c in w.channels]
    accepted = 0
    for watch, spec in specs:
        try:
            connector = runtime.connectors.connector(spec)
            with runtime.watch_lock, unit_of_work(runtime.session_factory) as session:
                current = watches_repo.get(session, watch.id, for_update=True)
                if current is None:
                    continue
                result = poll_channel(
                    session,
                    watch=current,
                    spec=spec,
                    connector=connector,
                    classifier=runtime.classifier,
                    now=runtime.clock.now(),
                )
            accepted += result.accepted
            runtime.metrics.posts.labels("accepted").inc(result.accepted)
            runtime.metrics.posts.labels("duplicate").inc(result.duplicates)
            runtime.metrics.poll_rejected.labels(connector.kind).inc(len(result.rejected))
        except Exception:
            log.exception("poll of %s for watch %s failed", masked_spec(spec), watch.id)
    if accepted:
        runtime.kick_detection()
    return accepted


def prune_old_data(runtime: Runtime) -> None:
    with runtime.watch_lock, unit_of_work(runtime.session_factory) as session:
        pruned = prune(session, runtime.clock.now())
    log.info("pruned %s", pruned)
