"""Block Kit renderer: content, escaping, Slack limits, state-dependent buttons."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.notify.slack_blocks import (
    ACTION_ACKNOWLEDGE,
    ACTION_RESOLVE,
    ACTION_SNOOZE,
    render_alert,
)
from tests.playbook_guidance import guidance_for

OPENED = datetime(2026, 11, 24, 13, 0, tzinfo=UTC)


def sample(i: int, **over: Any) -> dict[str, Any]:
    return {
        "text": f"post number {i} about the arrest video",
        "url": f"https://social.example/p/{i}",
        "author": f"@user{i}",
        "created_at": "2026-11-24T12:55:00+00:00",
        "sentiment": "negative",
        "irony": False,
        "parody": False,
        **over,
    }


def an_alert(**over: Any) -> AlertSnapshot:
    evidence = {
        "observed": 142,
        "expected": 18.2,
        "score": 7.93,
        "share": 0.64,
        "baseline_window": "28d",
        "fallback": False,
        "samples": [sample(1), sample(2)],
    }
    base = AlertSnapshot(
        id="alr_01",
        watch_id="wch_01",
        watch_name="Metro Police",
        kind=AlertKind.NEGATIVE_SURGE,
        state=AlertState.OPEN,
        severity=Severity.CRITICAL,
        opened_at=OPENED,
        updated_at=OPENED,
        evidence=evidence,
        guidance=guidance_for(AlertKind.NEGATIVE_SURGE, evidence),
    )
    return replace(base, **over)


def all_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) <= 1
    return {e["action_id"]: e for e in actions[0]["elements"]} if actions else {}


def assert_within_limits(text: str, blocks: list[dict[str, Any]]) -> None:
    assert 0 < len(text) <= 3000
    assert 0 < len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert all(len(e["text"]) <= 3000 for e in block["elements"])
        if block["type"] == "actions":
            for el in block["elements"]:
                if el["type"] == "static_select":  # the snooze menu
                    assert len(el["placeholder"]["text"]) <= 150 and len(el["options"]) <= 100
                    assert all(len(o["text"]["text"]) <= 75 for o in el["options"])
                    assert all(len(o["value"]) <= 150 for o in el["options"])
                    continue
                assert len(el["text"]["text"]) <= 75
                assert len(el["action_id"]) <= 255 and len(el["value"]) <= 2000


def test_open_alert_content() -> None:
    text, blocks = render_alert(an_alert())
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "🚨 Negative surge — Metro Police", "emoji": True},
    }
    body = all_text(blocks)
    for expected in (
        "*Observed* 142",
        "~18.2",
        "64%",
        "7.9",
        "28d",
        "Suggested engagement",
        "@user1",
        "https://social.example/p/2|View post",
        "Holding line",
    ):
        assert expected in body, expected
    assert "Metro Police" in text and "142" in text
    assert "fallback" not in body
    assert_within_limits(text, blocks)


def test_fallback_mode_is_noted() -> None:
    alert = an_alert()
    _, blocks = render_alert(replace(alert, evidence={**alert.evidence, "fallback": True}))
    assert "Short history" in all_text(blocks)


def test_open_alert_has_all_three_buttons_carrying_the_alert_id() -> None:
    got = buttons(render_alert(an_alert())[1])
    assert set(got) == {ACTION_ACKNOWLEDGE, ACTION_SNOOZE, ACTION_RESOLVE}
    assert {b["value"] for b in got.values() if b["type"] == "button"} == {"alr_01"}
    assert got[ACTION_RESOLVE]["confirm"]["confirm"]["text"] == "Resolve"


def test_acknowledged_alert_has_no_acknowledge_button() -> None:
    alert = an_alert(
        state=AlertState.ACKNOWLEDGED,
        acknowledged_by="Sam",
        acknowledged_at=OPENED + timedelta(minutes=5),
    )
    _, blocks = render_alert(alert)
    assert set(buttons(blocks)) == {ACTION_SNOOZE, ACTION_RESOLVE}
    context = [b for b in blocks if b["type"] == "context"][0]["elements"][0]["text"]
    assert "Acknowledged by Sam at <!date^" in context


def test_snoozed_alert_shows_until_and_keeps_buttons() -> None:
    until = OPENED + timedelta(hours=2)
    _, blocks = render_alert(an_alert(state=AlertState.SNOOZED, snoozed_until=until))
    assert f"Snoozed until <!date^{int(until.timestamp())}^" in all_text(blocks)
    assert set(buttons(blocks)) == {ACTION_ACKNOWLEDGE, ACTION_SNOOZE, ACTION_RESOLVE}


def test_resolved_alert_has_no_buttons() -> None:
    alert = an_alert(
        state=AlertState.RESOLVED, resolved_by="Ali", resolved_at=OPENED + timedelta(hours=1)
    )
    text, blocks = render_alert(alert)
    assert buttons(blocks) == {}
    assert blocks[0]["text"]["text"].startswith("✅ Resolved: Negative surge")
    assert "Resolved by Ali at" in all_text(blocks)
    assert "resolved" in text


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_renders(kind: AlertKind) -> None:
    alert = an_alert(kind=kind, guidance=guidance_for(kind, {}))
    text, blocks = render_alert(alert)
    assert "Metro Police" in blocks[0]["text"]["text"]
    assert_within_limits(text, blocks)


def test_limits_with_huge_inputs() -> None:
    long_text = ("<!channel> & ünïcödé 🚓 " * 2000).strip()
    samples = [sample(i, text=long_text, author="x" * 500) for i in range(100)]
    guidance = {
        "headline": "h" * 5000,
        "do": ["do & <this>" * 400] * 40,
        "dont": ["d" * 4000] * 40,
        "holding_line": "&" * 4000,
    }
    alert = an_alert(
        watch_name="W" * 400,
        id="alr_" + "9" * 100,
        evidence={**an_alert().evidence, "samples": samples, "baseline_window": {"days": 28}},
        guidance=guidance,
    )
    text, blocks = render_alert(alert)
    assert_within_limits(text, blocks)
    body = all_text(blocks)
    assert "<!channel>" not in body  # untrusted text cannot ping
    assert "&lt;!channel&gt;" in body
    sample_blocks = [b for b in blocks if b["type"] == "section" and "@x" in b["text"]["text"]]
    assert 1 <= len(sample_blocks) <= 5


def test_truncation_never_leaves_half_an_entity() -> None:
    guidance = {"headline": "x", "do": [], "dont": [], "holding_line": "&" * 4000}
    _, blocks = render_alert(an_alert(guidance=guidance))
    holding = [b for b in blocks if b["type"] == "section" and "Holding line" in b["text"]["text"]][
        0
    ]
    assert holding["text"]["text"].endswith("&amp;…")


def test_sample_escaping_and_unsafe_links() -> None:
    samples = [
        sample(1, text="a <b> & c", url="javascript:alert(1)"),
        sample(2, url="https://x.example/a|b"),
        sample(3, author={"handle": "@dict_author"}, url=None, irony=True, parody=True),
        "not a dict",
    ]
    _, blocks = render_alert(an_alert(evidence={**an_alert().evidence, "samples": samples}))
    body = all_text(blocks)
    assert "a &lt;b&gt; &amp; c" in body
    assert "javascript:" not in body and "a|b" not in body
    assert "*@dict_author* · _negative · irony · parody_" in body


def test_no_samples_no_guidance_still_renders() -> None:
    alert = an_alert(
        evidence={"observed": 0, "expected": 30}, guidance={}, kind=AlertKind.CHANNEL_SILENT
    )
    text, blocks = render_alert(alert)
    assert [b["type"] for b in blocks] == ["header", "section", "context", "actions"]
    assert_within_limits(text, blocks)
