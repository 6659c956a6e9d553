"""Issue #18 item 3: the Slack message says, in counts of the same label, how many
posts there are and how many are usual, over which window, beside the total
volume, and when the wave started as well as when the alert opened."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.notify.slack_blocks import render_alert
from tests.playbook_guidance import guidance_for

OPENED = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
WAVE = "2026-11-24T12:35:00+00:00"


def crisis(**over: Any) -> AlertSnapshot:
    # the case: 150 negative posts of 162 in 30 minutes, where ~29.7
    # posts and, at a usual share of 42 %, ~12.5 negative posts are usual
    evidence: dict[str, Any] = {
        "observed": 150,
        "expected": 62.5,
        "score": 11.23,
        "observed_share": 150 / 162,
        "expected_share": 0.42,
        "posts": 162,
        "label": "negative",
        "observed_count": 150,
        "expected_count": 29.7 * 0.42,
        "total_posts": 162,
        "expected_total_posts": 29.7,
        "window_minutes": 30,
        "wave_started_at": WAVE,
        "reach": {"authors": 131, "followers": 1_240_000, "engagement": 3400},
        "severity_measured": "critical",
        "severity_reason": "5x the usual count or more",
        "baseline_window": {"buckets": 2304},
        "samples": [],
    }
    evidence.update(over.pop("evidence", {}))
    return AlertSnapshot(
        id="alr_01",
        watch_id="wch_01",
        watch_name="Metro Police",
        kind=over.pop("kind", AlertKind.NEGATIVE_SURGE),
        state=AlertState.OPEN,
        severity=over.pop("severity", Severity.CRITICAL),
        opened_at=OPENED,
        updated_at=OPENED,
        evidence=evidence,
        guidance={},
    )


def numbers(alert: AlertSnapshot) -> list[str]:
    _, blocks = render_alert(alert)
    return blocks[1]["text"]["text"].split("\n")


def test_negative_wave_is_told_in_counts_with_window_volume_and_times() -> None:
    lines = numbers(crisis())
    assert lines[0] == "*150 negative posts in the last 30 minutes; usually about 12*"
    assert lines[1] == "of 162 posts; usually about 30 (5.5× the usual volume)"
    assert lines[2] == "*Share* 93% negative (usually 42%)"
    assert lines[3] == "*Severity* critical: 5x the usual count or more · *Score* 11.2"
    assert (
        lines[4]
        == "*Reach* 131 authors · 1.2M followers together · 3,400 likes, shares and replies"
    )
    assert lines[5] == (
        "*Wave started* <!date^1795523700^{date_short_pretty} {time}|2026-11-24 12:35 UTC>"
        " · *alert opened* <!date^1795525200^{date_short_pretty} {time}|2026-11-24 13:00 UTC>"
    )
    body = "\n".join(lines)
    assert "62.5" not in body  # the share-of-this-window figure is not shown as "usual"
    text, _ = render_alert(crisis())
    assert text == (
        "Negative surge — Metro Police: 150 negative posts in the last 30 minutes; "
        "usually about 12 (open)"
    )


def test_parody_and_small_usual_counts() -> None:
    alert = crisis(
        kind=AlertKind.PARODY_SURGE,
        evidence={
            "label": "parody",
            "observed_count": 27,
            "expected_count": 1.24,
            "total_posts": 64,
            "expected_total_posts": 62,
            "observed_share": 27 / 64,
            "expected_share": 0.02,
            "window_minutes": 15,
        },
    )
    lines = numbers(alert)
    assert lines[0] == "*27 parody posts in the last 15 minutes; usually about 1.2*"
    assert lines[1] == "of 64 posts; usually about 62 (1.0× the usual volume)"
    assert lines[2] == "*Share* 42% parody (usually 2%)"
    none_usual = crisis(evidence={"expected_count": 0.0})
    assert numbers(none_usual)[0] == "*150 negative posts in the last 30 minutes; usually none*"


def test_severity_held_from_earlier_is_said_so() -> None:
    # the alert is critical from earlier in the wave; this measurement alone is a
    # warning: the message must not give the warning's reason for "critical"
    alert = crisis(
        evidence={"severity_measured": "warning", "severity_reason": "a rise under the bars"}
    )
    line = next(x for x in numbers(alert) if x.startswith("*Severity*"))
    assert line == "*Severity* critical (held from earlier in this wave) · *Score* 11.2"


def test_volume_and_silence_read_in_posts_with_their_window() -> None:
    vol = crisis(
        kind=AlertKind.VOLUME_SURGE,
        severity=Severity.INFO,
        evidence={"observed": 162, "expected": 29.7, "window_minutes": 60},
    )
    assert numbers(vol)[0] == "*162 posts in the last 60 minutes; usually about 30*"
    long = crisis(
        kind=AlertKind.VOLUME_SURGE,
        severity=Severity.INFO,
        evidence={"observed": 2400, "expected": 900, "window_minutes": 720},
    )
    assert numbers(long)[0] == "*2,400 posts in the last 12 hours; usually about 900*"
    silent = crisis(
        kind=AlertKind.CHANNEL_SILENT,
        severity=Severity.WARNING,
        evidence={"observed": 0, "expected": 48.6, "silent_minutes": 25, "window_minutes": None},
    )
    assert numbers(silent)[0] == "*0 posts in the last 25 minutes; usually about 49*"


def test_without_a_wave_start_the_open_time_is_named() -> None:
    lines = numbers(crisis(evidence={"wave_started_at": None}))
    assert any(x.startswith("*Alert opened* <!date^1795525200^") for x in lines)
    assert not any(x.startswith("*Wave started*") for x in lines)


def test_guidance_headline_counts_against_the_usual_count() -> None:
    ev = crisis().evidence
    headline = guidance_for(AlertKind.NEGATIVE_SURGE, ev)["headline"]
    assert "(150 vs about 12.5 usual in 30 minutes)" in headline
    assert "62.5" not in headline
