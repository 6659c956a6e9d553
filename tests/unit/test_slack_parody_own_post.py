"""A parody_surge message names the own post the parodies mock, above the samples."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.notify.slack_blocks import render_alert
from tests.playbook_guidance import guidance_for

OPENED = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)
OWN = {
    "id": 881,
    "external_id": "own-881",
    "text": "Proud to welcome 120 new officers <today> & every day",
    "created_at": "2026-11-22T09:30:00+00:00",
    "url": "https://social.example/MetroPolice/status/881",
}


def parody_alert(own_post: Any) -> AlertSnapshot:
    evidence: dict[str, Any] = {
        "observed": 40,
        "expected": 1.0,
        "score": 9.1,
        "samples": [{"text": "policing with the community lol", "author": "a", "parody": True}],
    }
    if own_post is not None:
        evidence["own_post"] = own_post
    return AlertSnapshot(
        id="alr_p",
        watch_id="wch_01",
        watch_name="Metro Police",
        kind=AlertKind.PARODY_SURGE,
        state=AlertState.OPEN,
        severity=Severity.WARNING,
        opened_at=OPENED,
        updated_at=OPENED,
        evidence=evidence,
        guidance=guidance_for(AlertKind.PARODY_SURGE, evidence),
    )


def sections(alert: AlertSnapshot) -> list[str]:
    return [b["text"]["text"] for b in render_alert(alert)[1] if b["type"] == "section"]


def test_the_own_post_is_shown_with_its_time_and_link_above_the_samples() -> None:
    texts = sections(parody_alert(OWN))
    line = next(t for t in texts if t.startswith("Parodies of your post:"))
    assert line == (
        "Parodies of your post: Proud to welcome 120 new officers &lt;today&gt; &amp; every day"
        " (<!date^1795339800^{date_short_pretty} {time}|2026-11-22 09:30 UTC>,"
        " <https://social.example/MetroPolice/status/881|View post>)"
    )
    assert texts.index(line) < texts.index("*Sample posts*")


def test_an_own_post_without_url_or_time_still_shows_its_text() -> None:
    texts = sections(parody_alert({"text": "Every call matters to us."}))
    assert "Parodies of your post: Every call matters to us." in texts


def test_no_own_post_no_line() -> None:
    for own in (None, {}, {"text": ""}, "not a dict"):
        assert not any(t.startswith("Parodies of your post") for t in sections(parody_alert(own)))


def test_a_long_own_post_is_cut() -> None:
    texts = sections(parody_alert({**OWN, "text": "word " * 200}))
    line = next(t for t in texts if t.startswith("Parodies of your post:"))
    assert len(line) < 500 and "…" in line
