"""The Slack message offers snooze durations (30 min, 2 h, 8 h, 24 h) as a menu."""

from __future__ import annotations

from app.core.model import AlertState
from app.notify.slack_blocks import ACTION_SNOOZE, render_alert
from tests.unit.test_slack_blocks import an_alert, assert_within_limits, buttons


def test_open_alert_offers_four_snooze_durations() -> None:
    text, blocks = render_alert(an_alert())
    menu = buttons(blocks)[ACTION_SNOOZE]
    assert menu["type"] == "static_select"
    assert menu["placeholder"]["text"] == "Snooze for…"
    assert [o["text"]["text"] for o in menu["options"]] == ["30 min", "2 h", "8 h", "24 h"]
    assert [o["value"] for o in menu["options"]] == [
        "alr_01|30",
        "alr_01|120",
        "alr_01|480",
        "alr_01|1440",
    ]
    assert_within_limits(text, blocks)


def test_the_menu_stays_while_snoozed_and_goes_when_resolved() -> None:
    snoozed = buttons(render_alert(an_alert(state=AlertState.SNOOZED))[1])
    assert snoozed[ACTION_SNOOZE]["type"] == "static_select"
    assert buttons(render_alert(an_alert(state=AlertState.RESOLVED))[1]) == {}
