"""Detect surges for one watch and carry the alert lifecycle into the outbox, atomically."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.core.buckets import BUCKET, bucket_start
from app.core.detect import WatchDetector
from app.core.guidance import guidance_for, refreshed
from app.core.late import LATE_LOOKBACK, candidates, late_finds
from app.core.lifecycle import (
    CRISIS_KINDS,
    Action,
    Decision,
    OpenAlert,
    Policy,
    Reason,
    ResolvedAlert,
    decide,
    group_spikes,
    held_by_person,
)
from app.core.model import AlertKind, AlertState, BucketCounts, Severity, Spike
from app.core.playbooks import PlaybookSet
from app.core.presets import PRESETS
from app.db.base import new_id
from app.db.repos import alerts as alerts_repo
from app.db.repos import buckets as buckets_repo
from app.db.repos import posts as posts_repo
from app.db.repos import watches as watches_repo
from app.db.tables import Alert, Watch
from app.playbooks import shipped_playbooks
from app.services import alert_evidence
from app.services.outbound import SlackTarget, enqueue_event

log = logging.getLogger(__name__)

HISTORY = timedelta(days=28)
# A closed bucket is committed to the detector this long after it ends, so that
# posts arriving a little late still land before it is frozen.
LATE_GRACE = timedelta(minutes=1)
# Spikes of the last committed bucket still count as "now" if it is this recent.
RECENT = 3 * BUCKET
# Late posts written up to this long before the first bucket found late count as having
# changed it: the share windows are at most 30 minutes, the volume windows 5 minutes
# and an hour (a few posts change the 12-hour sum little).
ARRIVALS_BEFORE = timedelta(hours=1)
SILENT_ARRIVALS = timedelta(minutes=15)
AUTO = "groundswell"
# how far back a person's resolve can hold a still-running wave: the longest
# quiet period of any kind and preset
HELD_LOOKBACK = BUCKET * max(max(p.quiet_buckets, p.share_quiet_buckets) for p in PRESETS.values())


@dataclass(slots=True)
class DetectOutcome:
    watch_id: str
    spikes: list[str] = field(default_factory=list)
    actions: dict[str, str] = field(default_factory=dict)
    queued: int = 0


@dataclass(slots=True)
class Preloaded:
    """What a pass over many watches reads in a few queries instead of per watch."""

    since: datetime
    watches: dict[str, Watch]
    recent: dict[str, list[BucketCounts]]
    open_alerts: dict[str, dict[AlertKind, Alert]]
    resolved_by_person: dict[str, dict[AlertKind, Alert]]


def preload(session: Session, watch_ids: list[str], now: datetime) -> Preloaded:
    since = bucket_start(now - LATE_GRACE) - 2 * BUCKET
    return Preloaded(
        since=since,
        watches=watches_repo.get_many(session, watch_ids),
        recent=buckets_repo.read_recent(session, watch_ids, since),
        open_alerts=alerts_repo.open_alerts_many(session, watch_ids),
        resolved_by_person=alerts_repo.resolved_by_person_many(
            session, watch_ids, now - HELD_LOOKBACK, AUTO
        ),
    )


def detect_watch(
    session: Session,
    *,
    watch_id: str,
    now: datetime,
    slack: SlackTarget,
    preloaded: Preloaded | None = None,
    playbooks: PlaybookSet | None = None,
) -> DetectOutcome:
    """One detection pass for one watch, in the caller's transaction."""
    outcome = DetectOutcome(watch_id)
    if preloaded is not None:
        watch = preloaded.watches.get(watch_id)
    else:
        watch = watches_repo.get(session, watch_id, for_update=True)
    if watch is None:
        return outcome
    frontier = watch.detector_next_bucket  # what the detector had judged before this pass
    detector, spikes, stored, fed, judged = _advance(session, watch, now, preloaded)
    spikes.extend(_peek_open(stored, detector, now))
    if fed or watch.detector_stale or watch.detector_state is None:
        watch.detector_state = detector.to_state()
        watch.detector_next_bucket = detector.next_bucket
        watch.detector_stale = False
    if watch.detect_dirty:
        watch.detect_dirty = False  # callers serialise ingest and detection per watch

    by_kind: dict[AlertKind, Spike] = {}
    for spike in spikes:
        if spike.kind is AlertKind.CHANNEL_SILENT and _still_arriving(watch, now):
            continue
        best = by_kind.get(spike.kind)
        if best is None or spike.score > best.score:
            by_kind[spike.kind] = spike
    _add_late_finds(session, watch.id, by_kind, judged, frontier, now)
    if preloaded is not None:
        open_alerts = preloaded.open_alerts.get(watch.id, {})
        resolved = preloaded.resolved_by_person.get(watch.id, {})
    else:
        open_alerts = alerts_repo.open_alerts(session, watch.id)
        resolved = alerts_repo.resolved_by_person_many(
            session, [watch.id], now - HELD_LOOKBACK, AUTO
        )[watch.id]
    grouped = {s.kind: s for s in group_spikes(list(by_kind.values()), set(open_alerts))}
    outcome.spikes = sorted(str(k) for k in grouped)
    for kind in AlertKind:
        policy = Policy(quiet_for=detector.preset.quiet_buckets_for(kind) * BUCKET)
        alert = open_alerts.get(kind)
        spike = grouped.get(kind)
        reach = None
        if spike is not None and kind in CRISIS_KINDS:
            spike, reach = alert_evidence.with_reach(session, watch, spike, now)
        done = resolved.get(kind) if alert is None else None
        if done is not None and held_by_person(_resolved_view(done), spike, now, policy):
            done.last_spike_at = now  # the wave goes on; the person's resolve holds it
            outcome.actions[str(kind)] = f"{Action.NONE}:{Reason.RESOLVED_BY_PERSON}"
            continue
        decision = decide(_open_view(alert), spike, now, policy, reach)
        if decision.action is Action.NONE:
            continue
        outcome.actions[str(kind)] = f"{decision.action}:{decision.reason}"
        outcome.queued += _apply(
            session, watch, kind, alert, spike, decision, now, slack, playbooks
        )
    return outcome


def _still_arriving(watch: Watch, now: datetime) -> bool:
    """Posts arrived lately (e.g. a backfill of old posts): the source works, so quiet
    event-time buckets are not a broken channel. Silence needs nothing to arrive for
    SILENT_ARRIVALS as well."""
    last = watch.last_ingest_at
    return last is not None and last >= now - SILENT_ARRIVALS


def _add_late_finds(
    session: Session,
    watch_id: str,
    by_kind: dict[AlertKind, Spike],
    judged: list[tuple[datetime, list[Spike]]],
    frontier: datetime | None,
    now: datetime,
) -> None:
    """Surges found late (core.late): a kind with no spike now takes the strongest
    spike found late; either way its evidence says so ("seen_late")."""
    maybe = candidates(judged, now)
    if not maybe:
        return  # an ordinary pass: no query
    since = min(start for start, _ in maybe)
    finds = late_finds(
        maybe,
        now=now,
        frontier=frontier,
        arrivals=posts_repo.arrivals(session, watch_id, since - ARRIVALS_BEFORE, since),
        covered=alerts_repo.last_spike_by_kind(session, watch_id, since),
    )
    for kind, find in finds.items():
        spike = by_kind.get(kind, find.spike)
        evidence = {**spike.evidence, "seen_late": find.evidence()}
        by_kind[kind] = Spike(spike.kind, spike.observed, spike.expected, spike.score, evidence)


def _elapsed(now: datetime, start: datetime) -> float:
    return max(1e-3, min(1.0, (now - start) / BUCKET))


Stored = dict[datetime, BucketCounts]


def _advance(
    session: Session, watch: Watch, now: datetime, preloaded: Preloaded | None
) -> tuple[WatchDetector, list[Spike], Stored, int, list[tuple[datetime, list[Spike]]]]:
    """Commit every closed bucket to the detector; replay history when stale.

    Returns the detector, the spikes of the last committed bucket when it is recent,
    the stored buckets from the first one fed up to the open one, how many were fed,
    and (bucket start, spikes) of the earlier buckets fed that end within
    LATE_LOOKBACK: a surge in them was found late (see core.late, which decides
    whether they alert); older buckets never alert."""
    feed_end = bucket_start(now - LATE_GRACE)  # start of the first bucket still open
    detector: WatchDetector | None = None
    if watch.detector_state is not None and not watch.detector_stale:
        try:
            detector = WatchDetector.from_state(watch.detector_state)
        except (ValueError, KeyError, TypeError):
            log.info("detector state of watch %s is outdated: rebuilding", watch.id)
    if detector is None or detector.next_bucket is None:
        detector = WatchDetector.new(watch.sensitivity)
        first = buckets_repo.earliest_since(session, watch.id, now - HISTORY)
        start = first if first is not None else bucket_start(watch.created_at)
    else:
        start = max(detector.next_bucket, now - HISTORY)
        if start != detector.next_bucket:
            start = bucket_start(start)
            detector = WatchDetector.new(watch.sensitivity)
    open_end = bucket_start(now) + BUCKET
    first = min(start, feed_end)
    if preloaded is not None and first >= preloaded.since:
        rows = preloaded.recent.get(watch.id, [])
    else:
        rows = buckets_repo.read_range(session, watch.id, first, open_end)
    stored = {b.start: b for b in rows}
    spikes: list[Spike] = []
    judged: list[tuple[datetime, list[Spike]]] = []  # buckets before the last, with spikes
    at, fed = start, 0
    while at < feed_end:
        if spikes and at >= now - LATE_LOOKBACK:  # the previous bucket, ending at `at`
            judged.append((at - BUCKET, spikes))
        spikes = detector.feed(stored.get(at) or BucketCounts(at))
        at += BUCKET
        fed += 1
    if feed_end - BUCKET < now - RECENT:
        spikes = []
    return detector, spikes, stored, fed, judged


def _peek_open(stored: Stored, detector: WatchDetector, now: datetime) -> list[Spike]:
    """Judge the buckets not yet committed (the open one, and the last closed one while
    its grace minute runs) without changing the detector, so a surge alerts in seconds."""
    current = bucket_start(now)
    start = detector.next_bucket or current
    spikes: list[Spike] = []
    probe = detector
    while start <= current:
        bucket = stored.get(start) or BucketCounts(start)
        elapsed = 1.0 if start < current else _elapsed(now, current)
        spikes.extend(probe.peek(bucket, elapsed))
        if start < current:
            if probe is detector:  # commit the closed bucket on a copy only
                probe = WatchDetector.from_state(detector.to_state())
            probe.feed(bucket)
        start += BUCKET
    return spikes


def _open_view(alert: Alert | None) -> OpenAlert | None:
    if alert is None:
        return None
    return OpenAlert(
        state=AlertState(alert.state),
        severity=Severity(alert.severity),
        last_spike_at=alert.last_spike_at,
        last_notified_at=alert.last_notified_at,
        notified_observed=alert.notified_observed,
        snoozed_until=alert.snoozed_until,
    )


def _resolved_view(alert: Alert) -> ResolvedAlert:
    return ResolvedAlert(
        last_spike_at=alert.last_spike_at, notified_observed=alert.notified_observed
    )


def _apply(
    session: Session,
    watch: Watch,
    kind: AlertKind,
    alert: Alert | None,
    spike: Spike | None,
    decision: Decision,
    now: datetime,
    slack: SlackTarget,
    playbooks: PlaybookSet | None = None,
) -> int:
    event_type: str | None = None
    book = playbooks or shipped_playbooks()
    if decision.action is Action.OPEN and spike is not None:
        evidence = alert_evidence.evidence_for(session, watch, spike, now)
        alert = Alert(
            id=new_id("alr"),
            watch_id=watch.id,
            kind=str(kind),
            state=AlertState.OPEN.value,
            severity=str(decision.severity),
            opened_at=now,
            updated_at=now,
            last_spike_at=now,
            last_notified_at=now,
            notified_observed=spike.observed,
            peak_score=spike.score,
            evidence=evidence,
            guidance=guidance_for(
                kind,
                evidence,
                book.select(kind, decision.severity, evidence),
                watch_name=watch.name,
            ),
        )
        session.add(alert)
        session.flush()
        event_type = "alert.opened"
    elif alert is not None and spike is not None:  # UPDATE or TOUCH
        evidence = alert_evidence.evidence_for(session, watch, spike, now)
        if "seen_late" in alert.evidence and "seen_late" not in evidence:
            evidence["seen_late"] = alert.evidence["seen_late"]  # how it was found stays true
        alert.evidence = evidence
        alert.severity = str(decision.severity or alert.severity)
        playbook = book.select(kind, alert.severity, evidence)
        # its numbers follow the evidence; an edited playbook never rewrites the snapshot
        alert.guidance = refreshed(alert.guidance, kind, evidence, playbook, watch_name=watch.name)
        alert.last_spike_at = now
        alert.updated_at = now
        alert.peak_score = max(alert.peak_score, spike.score)
        if decision.notify:
            alert.last_notified_at = now
            alert.notified_observed = spike.observed
            if alert.state == AlertState.SNOOZED.value:
                alert.state = AlertState.OPEN.value
                alert.snoozed_until = None
            event_type = "alert.updated"
    elif alert is not None and decision.action is Action.RESOLVE:
        alert.state = AlertState.RESOLVED.value
        alert.resolved_at = now
        alert.resolved_by = AUTO
        alert.updated_at = now
        event_type = "alert.resolved"
    if alert is None or event_type is None:
        return 0
    alerts_repo.record_event(session, alert.id, event_type, str(decision.reason), now, AUTO)
    log.info("alert %s %s (%s) for watch %s", alert.id, event_type, decision.reason, watch.id)
    return enqueue_event(
        session,
        alert=alerts_repo.snapshot(alert, watch.name),
        event_type=event_type,
        now=now,
        slack=slack,
        watch_slack_channel=watch.slack_channel,
        quiet_slack_channel=watch.quiet_slack_channel,
        page_min_severity=watch.page_min_severity,
    )
