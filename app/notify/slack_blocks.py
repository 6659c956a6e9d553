"""PURE Block Kit renderer: AlertSnapshot → (fallback text, blocks).

Owns how an alert looks in Slack: header, numbers, sample posts, suggested
engagement (the guidance snapshot), state context, the ack / resolve buttons
(action_ids below, value = alert id) and the snooze menu (SNOOZE_CHOICES).
Untrusted text (posts, handles, watch names) is escaped for mrkdwn and cut to
Block Kit's limits.
"""

from __future__ import annotations

from typing import Any

from app.core.events import pauses_publishing
from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity
from app.notify.slack_text import (
    _fmt,
    _headline_count,
    _num,
    _numbers,
    _own_post,
    _sample,
    _seen_late,
    _when,
    cut,
    cut_mrkdwn,
    escape,
)

ACTION_ACKNOWLEDGE = "alert_acknowledge"
ACTION_SNOOZE = "alert_snooze"
ACTION_RESOLVE = "alert_resolve"
ACTIONS_BLOCK_ID = "alert_actions"
# The snooze menu: (minutes, label). An option's value is "<alert id>|<minutes>".
SNOOZE_CHOICES = ((30, "30 min"), (120, "2 h"), (480, "8 h"), (1440, "24 h"))
SNOOZE_SEPARATOR = "|"

MAX_BLOCKS = 50
MAX_HEADER = 150
MAX_SECTION = 3000
MAX_CONTEXT = 2000
MAX_BUTTON = 75
MAX_FALLBACK = 3000
MAX_SAMPLES = 5
MAX_GUIDANCE_ITEMS = 8

KIND_LABEL = {
    AlertKind.NEGATIVE_SURGE: "Negative surge",
    AlertKind.PARODY_SURGE: "Parody surge",
    AlertKind.VOLUME_SURGE: "Volume surge",
    AlertKind.CHANNEL_SILENT: "Channel silent",
}
SEVERITY_EMOJI = {Severity.CRITICAL: "🚨", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}
# Shown while a negative or parody surge is unresolved (webhooks get
# publishing.pause_recommended at the same time).
PAUSE_LINE = "⏸️ Consider pausing scheduled celebratory posts until this settles."


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut_mrkdwn(text, MAX_SECTION)}}


def _title(alert: AlertSnapshot) -> str:
    label = KIND_LABEL.get(alert.kind, str(alert.kind))
    if alert.state is AlertState.RESOLVED:
        return f"✅ Resolved: {label} — {alert.watch_name}"
    return f"{SEVERITY_EMOJI.get(alert.severity, '🚨')} {label} — {alert.watch_name}"


def _bullets(items: Any) -> str:
    if not isinstance(items, list):
        return ""
    shown = [f"• {escape(cut(str(i), 300))}" for i in items[:MAX_GUIDANCE_ITEMS]]
    return "\n".join(shown)


def _guidance_blocks(guidance: dict[str, Any]) -> list[dict[str, Any]]:
    if not guidance:
        return []
    blocks = [_section(f"*Suggested engagement*\n{escape(str(guidance.get('headline', '')))}")]
    do, dont = _bullets(guidance.get("do")), _bullets(guidance.get("dont"))
    if do:
        blocks.append(_section(f"*Do*\n{do}"))
    if dont:
        blocks.append(_section(f"*Don't*\n{dont}"))
    if guidance.get("holding_line"):
        blocks.append(_section(f"*Holding line*\n> {escape(str(guidance['holding_line']))}"))
    return blocks


def _state_line(alert: AlertSnapshot) -> str:
    who = escape(cut(alert.acknowledged_by or "someone", 80))
    if alert.state is AlertState.RESOLVED:
        by = escape(cut(alert.resolved_by or "", 80))
        at = _when(alert.resolved_at)
        return "Resolved" + (f" by {by}" if by else "") + (f" at {at}" if at else "")
    if alert.state is AlertState.SNOOZED:
        until = _when(alert.snoozed_until)
        owner = f" · acknowledged by {who}" if alert.acknowledged_by else ""
        return "Snoozed" + (f" until {until}" if until else "") + owner
    if alert.state is AlertState.ACKNOWLEDGED:
        at = _when(alert.acknowledged_at)
        return f"Acknowledged by {who}" + (f" at {at}" if at else "")
    return f"Open since {_when(alert.opened_at)} · not yet acknowledged"


def _button(text: str, action_id: str, alert_id: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": _plain(text, MAX_BUTTON),
        "action_id": action_id,
        "value": alert_id,
    }
    if style:
        button["style"] = style
    return button


def _snooze_menu(alert_id: str) -> dict[str, Any]:
    """A menu of snooze durations (Slack sends the chosen option's value)."""
    return {
        "type": "static_select",
        "action_id": ACTION_SNOOZE,
        "placeholder": _plain("Snooze for…", MAX_BUTTON),
        "options": [
            {"text": _plain(label, MAX_BUTTON), "value": f"{alert_id}{SNOOZE_SEPARATOR}{minutes}"}
            for minutes, label in SNOOZE_CHOICES
        ],
    }


def _actions(alert: AlertSnapshot) -> dict[str, Any] | None:
    if alert.state is AlertState.RESOLVED:
        return None
    buttons: list[dict[str, Any]] = []
    if alert.state is not AlertState.ACKNOWLEDGED and alert.acknowledged_at is None:
        buttons.append(_button("Acknowledge", ACTION_ACKNOWLEDGE, alert.id, "primary"))
    buttons.append(_snooze_menu(alert.id))
    resolve = _button("Resolve", ACTION_RESOLVE, alert.id, "danger")
    resolve["confirm"] = {
        "title": _plain("Resolve this alert?", 100),
        "text": _plain("Resolving closes it for everyone.", 300),
        "confirm": _plain("Resolve", 30),
        "deny": _plain("Cancel", 30),
    }
    buttons.append(resolve)
    return {"type": "actions", "block_id": ACTIONS_BLOCK_ID, "elements": buttons}


def _fallback(alert: AlertSnapshot) -> str:
    label = KIND_LABEL.get(alert.kind, str(alert.kind))
    ev = alert.evidence
    observed, expected = _num(ev.get("observed")), _num(ev.get("expected"))
    headline = _headline_count(alert)
    if headline is not None:
        numbers = f": {headline}"
    elif observed is not None and expected is not None:
        numbers = f": {_fmt(observed)} vs ~{_fmt(expected)} expected"
    else:
        numbers = ""
    text = f"{label} — {alert.watch_name}{numbers} ({alert.state})"
    return cut_mrkdwn(escape(text), MAX_FALLBACK)


def render_alert(alert: AlertSnapshot) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks for one alert, within Slack's limits."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_title(alert), MAX_HEADER)},
        _section(_numbers(alert)),
    ]
    late = _seen_late(alert)
    if late:
        blocks.append(_section(late))
    if pauses_publishing(alert.kind) and alert.state is not AlertState.RESOLVED:
        blocks.append(_section(PAUSE_LINE))
    own = _own_post(alert.evidence)
    if own:
        blocks.append({"type": "divider"})
        blocks.append(_section(own))
    samples = alert.evidence.get("samples")
    rendered = [s for s in map(_sample, samples if isinstance(samples, list) else []) if s]
    if rendered:
        if not own:
            blocks.append({"type": "divider"})
        blocks.append(_section("*Sample posts*"))
        blocks.extend(_section(s) for s in rendered[:MAX_SAMPLES])
    guidance = _guidance_blocks(alert.guidance)
    if guidance:
        blocks.append({"type": "divider"})
        blocks.extend(guidance)
    context = f"{_state_line(alert)} · alert `{escape(cut(alert.id, 80))}`"
    blocks.append(
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": cut_mrkdwn(context, MAX_CONTEXT)}],
        }
    )
    actions = _actions(alert)
    if actions is not None:
        blocks.append(actions)
    if len(blocks) > MAX_BLOCKS:  # cannot happen with the caps above; keep actions last
        blocks = blocks[: MAX_BLOCKS - 1] + [blocks[-1]]
    return _fallback(alert), blocks
