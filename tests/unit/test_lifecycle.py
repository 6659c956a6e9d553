"""The alert state machine: every decision and its reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.lifecycle import (
    Action,
    CommandInvalid,
    OpenAlert,
    Policy,
    Reason,
    ResolvedAlert,
    TransitionRefused,
    check_acknowledge,
    check_resolve,
    check_snooze,
    decide,
    group_spikes,
    held_by_person,
    severity_for,
)
from app.core.model import AlertKind, AlertState, Severity, Spike

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
POLICY = Policy(quiet_for=timedelta(minutes=30))


def spike(kind=AlertKind.NEGATIVE_SURGE, observed=30.0, expected=10.0) -> Spike:
    return Spike(kind, observed, expected, 5.0, {"baseline_window": "x"})


def open_alert(**kw) -> OpenAlert:
    base = dict(
        state=AlertState.OPEN,
        severity=Severity.WARNING,
        last_spike_at=NOW - timedelta(minutes=1),
        last_notified_at=NOW - timedelta(minutes=1),
        notified_observed=30.0,
    )
    base.update(kw)
    return OpenAlert(**base)


@pytest.mark.parametrize(
    ("current", "s", "now", "action", "reason", "notify"),
    [
        (None, None, NOW, Action.NONE, Reason.NO_SPIKE, False),
        (None, spike(), NOW, Action.OPEN, Reason.OPENED, True),
        (open_alert(), spike(), NOW, Action.TOUCH, Reason.STILL_RUNNING, False),
        (open_alert(), spike(observed=50, expected=10), NOW, Action.UPDATE, Reason.ESCALATED, True),
        (
            open_alert(last_notified_at=NOW - timedelta(minutes=20)),
            spike(observed=46, expected=20),
            NOW,
            Action.UPDATE,
            Reason.GREW,
            True,
        ),
        (
            open_alert(last_notified_at=NOW - timedelta(minutes=5)),
            spike(observed=46, expected=20),
            NOW,
            Action.TOUCH,
            Reason.STILL_RUNNING,
            False,
        ),
        (open_alert(), None, NOW, Action.NONE, Reason.QUIETING, False),
        (
            open_alert(last_spike_at=NOW - timedelta(minutes=30)),
            None,
            NOW,
            Action.RESOLVE,
            Reason.AUTO_RESOLVED,
            True,
        ),
        (
            open_alert(state=AlertState.SNOOZED, snoozed_until=NOW + timedelta(hours=1)),
            spike(observed=80),
            NOW,
            Action.TOUCH,
            Reason.SNOOZED,
            False,
        ),
        (
            open_alert(state=AlertState.SNOOZED, snoozed_until=NOW - timedelta(minutes=1)),
            spike(),
            NOW,
            Action.UPDATE,
            Reason.SNOOZE_EXPIRED,
            True,
        ),
    ],
)
def test_decide(current, s, now, action, reason, notify) -> None:
    d = decide(current, s, now, POLICY)
    assert (d.action, d.reason, d.notify) == (action, reason, notify)


def test_severity_never_drops_while_an_episode_runs() -> None:
    d = decide(open_alert(severity=Severity.CRITICAL), spike(observed=11), NOW, POLICY)
    assert d.severity is Severity.CRITICAL


def test_severity_by_kind_and_ratio() -> None:
    assert severity_for(spike(AlertKind.VOLUME_SURGE)) is Severity.INFO
    assert severity_for(spike(AlertKind.CHANNEL_SILENT, 0, 50)) is Severity.WARNING
    assert severity_for(spike(observed=20, expected=10)) is Severity.WARNING
    assert severity_for(spike(observed=50, expected=10)) is Severity.CRITICAL  # 5x: core.severity


def test_volume_rise_is_folded_into_the_crisis_alert() -> None:
    spikes = [spike(), spike(AlertKind.VOLUME_SURGE, 100, 40)]
    out = group_spikes(spikes, set())
    assert [s.kind for s in out] == [AlertKind.NEGATIVE_SURGE]
    assert out[0].evidence["volume"] == {"observed": 100, "expected": 40, "score": 5.0}
    # ... also when the negative alert is already open and only volume spikes now
    assert group_spikes([spike(AlertKind.VOLUME_SURGE)], {AlertKind.PARODY_SURGE}) == []
    # ... but a volume rise alone stays a volume alert
    alone = [spike(AlertKind.VOLUME_SURGE)]
    assert group_spikes(alone, set()) == alone


def test_people_commands_check_the_state() -> None:
    with pytest.raises(TransitionRefused):
        check_acknowledge(AlertState.RESOLVED)
    with pytest.raises(TransitionRefused):
        check_acknowledge(AlertState.ACKNOWLEDGED)
    with pytest.raises(TransitionRefused):
        check_resolve(AlertState.RESOLVED)
    check_acknowledge(AlertState.SNOOZED)
    with pytest.raises(CommandInvalid):
        check_snooze(AlertState.OPEN, None, NOW)
    with pytest.raises(CommandInvalid):
        check_snooze(AlertState.OPEN, NOW - timedelta(minutes=1), NOW)
    with pytest.raises(CommandInvalid):
        check_snooze(AlertState.OPEN, NOW + timedelta(days=8), NOW)
    assert check_snooze(AlertState.OPEN, NOW + timedelta(hours=2), NOW) == NOW + timedelta(hours=2)


@pytest.mark.parametrize(
    ("last_spike_ago", "observed", "held"),
    [
        (timedelta(minutes=1), 30.0, True),  # the same wave, same size: stays resolved
        (timedelta(minutes=1), 44.0, True),  # grown, but under 1.5x what people saw
        (timedelta(minutes=1), 45.0, False),  # grown 1.5x: a new alert
        (timedelta(minutes=30), 30.0, False),  # quiet for quiet_for: a new wave
    ],
)
def test_a_person_resolving_a_running_wave_holds_it(
    last_spike_ago: timedelta, observed: float, held: bool
) -> None:
    done = ResolvedAlert(last_spike_at=NOW - last_spike_ago, notified_observed=30.0)
    assert held_by_person(done, spike(observed=observed), NOW, POLICY) is held
    assert held_by_person(None, spike(), NOW, POLICY) is False
    assert held_by_person(done, None, NOW, POLICY) is False
