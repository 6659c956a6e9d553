"""Alert state machine: what a detection pass, or a person, does to an alert.

`decide` is the one place that says whether a spike opens, updates or resolves an
alert and whether anybody is told (Alertmanager's needsUpdate, in our terms).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from app.core import severity as wave_severity
from app.core.model import AlertKind, AlertState, Severity, Spike
from app.core.severity import Reach

CRISIS_KINDS = (AlertKind.NEGATIVE_SURGE, AlertKind.PARODY_SURGE)
MAX_SNOOZE = timedelta(days=7)
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class Action(StrEnum):
    OPEN = "open"  # new alert
    UPDATE = "update"  # new evidence, and people are told
    TOUCH = "touch"  # new evidence kept quietly
    RESOLVE = "resolve"
    NONE = "none"


class Reason(StrEnum):
    OPENED = "opened"
    ESCALATED = "escalated"
    GREW = "grew"
    STILL_RUNNING = "still_running"
    SNOOZED = "snoozed"
    SNOOZE_EXPIRED = "snooze_expired"
    QUIETING = "quieting"
    AUTO_RESOLVED = "auto_resolved"
    NO_SPIKE = "no_spike"
    RESOLVED_BY_PERSON = "resolved_by_person"


@dataclass(frozen=True, slots=True)
class OpenAlert:
    state: AlertState
    severity: Severity
    last_spike_at: datetime
    last_notified_at: datetime
    notified_observed: float
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    """quiet_for: how long without a spike closes the episode (the detector preset's
    quiet_buckets_for(kind) × bucket). update_every / growth: an update is sent at most this
    often, and only when the surge grew by this factor since people were last told."""

    quiet_for: timedelta
    update_every: timedelta = timedelta(minutes=15)
    growth: float = 1.5


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: Reason
    notify: bool
    severity: Severity | None = None


class TransitionRefused(ValueError):
    """A person asked for a change the alert's state does not allow."""


class CommandInvalid(ValueError):
    """A person's command is malformed (e.g. a snooze without a future `until`)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def severity_for(spike: Spike, reach: Reach | None = None) -> Severity:
    """The size of the wave: the rule is written down in app.core.severity."""
    return wave_severity.severity_for(spike, reach)


def decide(
    current: OpenAlert | None,
    spike: Spike | None,
    now: datetime,
    policy: Policy,
    reach: Reach | None = None,
) -> Decision:
    """`reach`: who carries the spike's wave (followers, engagement), for severity."""
    if current is None:
        if spike is None:
            return Decision(Action.NONE, Reason.NO_SPIKE, notify=False)
        return Decision(
            Action.OPEN, Reason.OPENED, notify=True, severity=severity_for(spike, reach)
        )
    if spike is None:
        if now - current.last_spike_at >= policy.quiet_for:
            return Decision(Action.RESOLVE, Reason.AUTO_RESOLVED, notify=True)
        return Decision(Action.NONE, Reason.QUIETING, notify=False)
    severity = severity_for(spike, reach)
    if _SEVERITY_RANK[severity] < _SEVERITY_RANK[current.severity]:
        severity = current.severity  # an episode never de-escalates while it runs
    snoozed = current.state is AlertState.SNOOZED
    if snoozed and current.snoozed_until is not None and now < current.snoozed_until:
        return Decision(Action.TOUCH, Reason.SNOOZED, notify=False, severity=severity)
    if snoozed:
        return Decision(Action.UPDATE, Reason.SNOOZE_EXPIRED, notify=True, severity=severity)
    if _SEVERITY_RANK[severity] > _SEVERITY_RANK[current.severity]:
        return Decision(Action.UPDATE, Reason.ESCALATED, notify=True, severity=severity)
    grew = spike.observed >= current.notified_observed * policy.growth
    if grew and now - current.last_notified_at >= policy.update_every:
        return Decision(Action.UPDATE, Reason.GREW, notify=True, severity=severity)
    return Decision(Action.TOUCH, Reason.STILL_RUNNING, notify=False, severity=severity)


@dataclass(frozen=True, slots=True)
class ResolvedAlert:
    """The newest alert of a kind that a person resolved (not the auto-resolve)."""

    last_spike_at: datetime
    notified_observed: float


def held_by_person(
    resolved: ResolvedAlert | None, spike: Spike | None, now: datetime, policy: Policy
) -> bool:
    """A person resolved the alert while its surge was still in the detector's
    window ("handled"): the same wave -- spikes less than `quiet_for` apart --
    does not open a new alert and page again seconds later, unless it grew by
    `policy.growth` over what people were last told.  The caller keeps the
    resolved alert's last_spike_at current while it holds, so a wave that never
    calms stays held, and the next one after a quiet period opens as usual."""
    if resolved is None or spike is None:
        return False
    if now - resolved.last_spike_at >= policy.quiet_for:
        return False
    return spike.observed < resolved.notified_observed * policy.growth


def check_acknowledge(state: AlertState) -> None:
    if state is AlertState.RESOLVED:
        raise TransitionRefused("alert is resolved; nothing to acknowledge")
    if state is AlertState.ACKNOWLEDGED:
        raise TransitionRefused("alert is already acknowledged")


def check_snooze(state: AlertState, until: datetime | None, now: datetime) -> datetime:
    if state is AlertState.RESOLVED:
        raise TransitionRefused("alert is resolved; nothing to snooze")
    if until is None:
        raise CommandInvalid("until", "snooze needs `until`")
    if until.tzinfo is None:
        raise CommandInvalid("until", "give a time zone (e.g. 2026-11-24T18:00:00Z)")
    if until <= now:
        raise CommandInvalid("until", "must be in the future")
    if until - now > MAX_SNOOZE:
        raise CommandInvalid("until", "snooze for at most 7 days")
    return until


def check_resolve(state: AlertState) -> None:
    if state is AlertState.RESOLVED:
        raise TransitionRefused("alert is already resolved")


def group_spikes(spikes: list[Spike], open_kinds: set[AlertKind]) -> list[Spike]:
    """One episode pages once: a volume rise that comes with a negative or parody
    surge (now, or one already open) is folded into that alert's evidence."""
    crisis = [s for s in spikes if s.kind in CRISIS_KINDS]
    volume = [s for s in spikes if s.kind is AlertKind.VOLUME_SURGE]
    crisis_running = bool(crisis) or any(k in open_kinds for k in CRISIS_KINDS)
    if not volume or not crisis_running:
        return spikes
    vol = volume[0]
    folded = {"observed": vol.observed, "expected": vol.expected, "score": vol.score}
    out: list[Spike] = []
    for spike in spikes:
        if spike.kind is AlertKind.VOLUME_SURGE:
            continue
        if spike.kind in CRISIS_KINDS:
            spike = Spike(
                spike.kind,
                spike.observed,
                spike.expected,
                spike.score,
                {**spike.evidence, "volume": folded},
            )
        out.append(spike)
    return out
