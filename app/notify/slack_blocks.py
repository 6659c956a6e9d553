"""PURE Block Kit renderer: AlertSnapshot → (fallback text, blocks).

Owns how an alert looks in Slack: header, numbers, sample posts, suggested
engagement (the guidance snapshot), state context, the ack / resolve buttons
(action_ids below, value = alert id) and the snooze menu (SNOOZE_CHOICES).
Untrusted text (posts, handles, watch names) is escaped for mrkdwn and cut to
Block Kit's limits.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from app.core.model import AlertKind, AlertSnapshot, AlertState, Severity

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
MAX_POST_CHARS = 280
MAX_GUIDANCE_ITEMS = 8

KIND_LABEL = {
    AlertKind.NEGATIVE_SURGE: "Negative surge",
    AlertKind.PARODY_SURGE: "Parody surge",
    AlertKind.VOLUME_SURGE: "Volume surge",
    AlertKind.CHANNEL_SILENT: "Channel silent",
}
SEVERITY_EMOJI = {Severity.CRITICAL: "🚨", Severity.WARNING: "⚠️", Severity.INFO: "ℹ️"}


def cut(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, ending with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text, limit), "emoji": True}


def cut_mrkdwn(text: str, limit: int) -> str:
    """Like `cut`, but never leaves half an &entity; or half a <link|token>."""
    if len(text) <= limit:
        return text
    head = text[: max(limit - 1, 0)]
    amp = head.rfind("&")
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    lt = head.rfind("<")
    if lt != -1 and ">" not in head[lt:]:
        head = head[:lt]
    return head.rstrip() + "…"


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut_mrkdwn(text, MAX_SECTION)}}


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return str(int(round(value))) if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _when(value: Any) -> str | None:
    """A datetime or ISO string as a Slack date token with a UTC fallback."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return escape(cut(value, 40))
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    utc = value.astimezone(UTC)
    fallback = utc.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(utc.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _window(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def _title(alert: AlertSnapshot) -> str:
    label = KIND_LABEL.get(alert.kind, str(alert.kind))
    if alert.state is AlertState.RESOLVED:
        return f"✅ Resolved: {label} — {alert.watch_name}"
    return f"{SEVERITY_EMOJI.get(alert.severity, '🚨')} {label} — {alert.watch_name}"


def _numbers(alert: AlertSnapshot) -> str:
    ev = alert.evidence
    lines: list[str] = []
    observed, expected, score = (
        _num(ev.get("observed")),
        _num(ev.get("expected")),
        _num(ev.get("score")),
    )
    if observed is not None and expected is not None:
        lines.append(f"*Observed* {_fmt(observed)} vs *expected* ~{_fmt(expected)}")
    share = _num(ev.get("share"))
    if share is not None:
        usual = _num(ev.get("expected_share"))
        extra = f" (usually {round(usual * 100)}%)" if usual is not None else ""
        lines.append(f"*Share* {round(share * 100)}%{extra}")
    if score is not None:
        lines.append(f"*Score* {score:.1f} · *Severity* {alert.severity}")
    since = _when(ev.get("window_start") or ev.get("since")) or _when(alert.opened_at)
    lines.append(f"*Since* {since}")
    window = _window(ev.get("baseline_window"))
    if window:
        lines.append(f"*Baseline* {escape(cut(window, 200))}")
    if ev.get("fallback"):
        lines.append("_Short history: baseline in fallback mode, so treat “expected” as rough._")
    return "\n".join(lines)


def _safe_url(url: Any) -> str | None:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or ch in "<>|" for ch in url) or len(url) > 2000:
        return None
    return url.replace("&", "&amp;")


def _sample(sample: Any) -> str | None:
    if not isinstance(sample, dict):
        return None
    author = sample.get("author")
    if isinstance(author, dict):
        author = author.get("handle")
    handle = escape(cut(str(author or "unknown").lstrip("@"), 60))
    text = " ".join(str(sample.get("text") or "").split())
    tags = [str(sample["sentiment"])] if sample.get("sentiment") else []
    tags += [t for t in ("irony", "parody") if sample.get(t)]
    head = f"*@{handle}*" + (f" · _{escape(' · '.join(tags))}_" if tags else "")
    body = f"> {escape(cut(text, MAX_POST_CHARS))}" if text else "> _(no text)_"
    url = _safe_url(sample.get("url"))
    link = f"\n<{url}|View post>" if url else ""
    return f"{head}\n{body}{link}"


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
        return "Snoozed" + (f" until {until}" if until else "")
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
    numbers = (
        f": {_fmt(observed)} vs ~{_fmt(expected)} expected"
        if observed is not None and expected is not None
        else ""
    )
    text = f"{label} — {alert.watch_name}{numbers} ({alert.state})"
    return cut_mrkdwn(escape(text), MAX_FALLBACK)


def render_alert(alert: AlertSnapshot) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks for one alert, within Slack's limits."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain(_title(alert), MAX_HEADER)},
        _section(_numbers(alert)),
    ]
    samples = alert.evidence.get("samples")
    rendered = [s for s in map(_sample, samples if isinstance(samples, list) else []) if s]
    if rendered:
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
