"""app.core.severity: the size of the wave decides severity (issue #18 item 4).

Each bar is checked just below and just above it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from app.core.lifecycle import Action, OpenAlert, Policy, Reason, decide
from app.core.model import AlertKind, AlertState, Severity, Spike
from app.core.severity import (
    AMPLIFIED_RATIO,
    CRITICAL_ENGAGEMENT,
    CRITICAL_EXCESS,
    CRITICAL_FOLLOWERS,
    CRITICAL_RATIO,
    CRITICAL_VOLUME,
    Reach,
    assess,
    severity_for,
)

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def wave(
    label_posts: float,
    usual_label_posts: float,
    posts: float | None = None,
    usual_posts: float | None = None,
    kind: AlertKind = AlertKind.NEGATIVE_SURGE,
    usual_share: float = 0.5,
) -> Spike:
    """A spike as the detector reports it: counts of the window, plus the
    compatibility fields (expected = usual share x this window's posts)."""
    posts = label_posts if posts is None else posts
    usual_posts = usual_label_posts / usual_share if usual_posts is None else usual_posts
    evidence = {
        "observed_count": label_posts,
        "expected_count": usual_label_posts,
        "total_posts": posts,
        "expected_total_posts": usual_posts,
        "expected_share": usual_share,
        "window_minutes": 30,
    }
    return Spike(kind, label_posts, posts * usual_share, 5.0, evidence)


def test_the_issue_cases() -> None:
    # 150 of 150 posts negative at 5.5x volume on a watch whose usual share is
    # 42 %: was "warning" (150 vs 62.5 expected by share); 13x the usual
    # ~11.4 negative posts -> critical
    s = wave(150, 150 / 5.5 * 0.417, posts=150, usual_posts=150 / 5.5, usual_share=0.417)
    assert severity_for(s) is Severity.CRITICAL
    # 27 parody posts where ~1 is usual: critical (a wave, and 26 extra posts)
    p = wave(27, 1.2, posts=60, usual_posts=60, kind=AlertKind.PARODY_SURGE, usual_share=0.02)
    assert severity_for(p) is Severity.CRITICAL


@pytest.mark.parametrize("usual_share", [0.1, 0.3, 0.5, 0.7])
def test_five_times_the_usual_count_is_critical_whatever_the_usual_share(
    usual_share: float,
) -> None:
    usual = 12.0
    posts = usual / usual_share
    assert severity_for(wave(5 * usual, usual, posts=posts * 2, usual_share=usual_share)) is (
        Severity.CRITICAL
    )
    assert severity_for(wave(4.9 * usual, usual, posts=posts * 2, usual_share=usual_share)) is (
        Severity.WARNING
    )


def test_size_bar_edges() -> None:
    usual = 10.0
    # ratio: just below / at the 5x bar (excess 40 either way, volume 1x)
    assert severity_for(wave(CRITICAL_RATIO * usual - 0.1, usual, 100, 100)) is Severity.WARNING
    assert severity_for(wave(CRITICAL_RATIO * usual, usual, 100, 100)) is Severity.CRITICAL
    # excess: a 5x wave of tiny numbers is a warning until 20 posts over usual
    small = CRITICAL_EXCESS / (CRITICAL_RATIO - 1.0)  # 5 usual -> 25 observed = +20
    assert severity_for(wave(25.0, small, 100, 100)) is Severity.CRITICAL
    assert severity_for(wave(24.9, small, 100, 100)) is Severity.WARNING


def test_volume_bar_edges() -> None:
    usual = 20.0
    label = AMPLIFIED_RATIO * usual  # 50, +30: amplifiable, not critical by size
    assert severity_for(wave(label, usual, 100, 100)) is Severity.WARNING
    assert severity_for(wave(label, usual, 299, 100)) is Severity.WARNING
    assert severity_for(wave(label, usual, CRITICAL_VOLUME * 100, 100)) is Severity.CRITICAL
    # below the amplified ratio, even tripled volume stays a warning
    assert severity_for(wave(label - 0.1, usual, 400, 100)) is Severity.WARNING


def test_reach_bar_edges() -> None:
    usual = 20.0
    s = wave(AMPLIFIED_RATIO * usual, usual, 100, 100)
    below = Reach(authors=40, followers=CRITICAL_FOLLOWERS - 1, engagement=CRITICAL_ENGAGEMENT - 1)
    assert severity_for(s, below) is Severity.WARNING
    assert severity_for(s, Reach(40, CRITICAL_FOLLOWERS, 0)) is Severity.CRITICAL
    assert severity_for(s, Reach(40, 0, CRITICAL_ENGAGEMENT)) is Severity.CRITICAL
    # reach amplifies a wave; it does not make a drift critical
    weak = wave(AMPLIFIED_RATIO * usual - 0.1, usual, 100, 100)
    assert severity_for(weak, Reach(40, 10 * CRITICAL_FOLLOWERS, 0)) is Severity.WARNING
    # nor a handful of posts from one famous account (under the excess bar)
    few = wave(12, 1.0, 12, 2.0)
    assert severity_for(few, Reach(1, 50 * CRITICAL_FOLLOWERS, 0)) is Severity.WARNING


def test_other_kinds_and_reasons() -> None:
    vol = Spike(AlertKind.VOLUME_SURGE, 500, 20, 9.0, {})
    assert severity_for(vol, Reach(9, 10 * CRITICAL_FOLLOWERS, 0)) is Severity.INFO
    assert severity_for(Spike(AlertKind.CHANNEL_SILENT, 0, 50, 50, {})) is Severity.WARNING
    assert "volume" in assess(wave(50, 20, 300, 100)).because
    assert "followers" in assess(wave(50, 20, 100, 100), Reach(3, CRITICAL_FOLLOWERS, 0)).because
    # evidence without counts (older alerts): observed / expected as the counts
    assert severity_for(Spike(AlertKind.NEGATIVE_SURGE, 50, 10, 5.0, {})) is Severity.CRITICAL
    assert severity_for(Spike(AlertKind.NEGATIVE_SURGE, 40, 10, 5.0, {})) is Severity.WARNING


def test_decide_escalates_when_reach_arrives() -> None:
    s = wave(50, 20, 100, 100)
    policy = Policy(quiet_for=timedelta(minutes=30))
    assert decide(None, s, NOW, policy).severity is Severity.WARNING
    current = OpenAlert(AlertState.OPEN, Severity.WARNING, NOW - timedelta(minutes=1), NOW, 50.0)
    d = decide(current, s, NOW, policy, Reach(30, 2 * CRITICAL_FOLLOWERS, 0))
    assert (d.action, d.reason, d.severity) == (Action.UPDATE, Reason.ESCALATED, Severity.CRITICAL)
