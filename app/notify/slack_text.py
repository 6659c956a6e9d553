"""PURE mrkdwn text of an alert's evidence, for the Block Kit renderer.

The numbers section ("N negative posts in the last 30 minutes; usually about
M", share, severity, reach, wave start, baseline), the seen-late line, the
sample posts and the parodied own post, with the number formatting they share;
and the text primitives every Slack string goes through: ``escape`` (mrkdwn
control characters), ``cut`` / ``cut_mrkdwn`` (Block Kit length limits).
``app.notify.slack_blocks`` assembles these into blocks.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from app.core.model import AlertKind, AlertSnapshot

MAX_POST_CHARS = 280


def cut(text: str, limit: int) -> str:
    """Shorten to at most `limit` characters, ending with an ellipsis if cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)].rstrip() + "…"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


_LABEL_POSTS = {AlertKind.NEGATIVE_SURGE: "negative posts", AlertKind.PARODY_SURGE: "parody posts"}


def _about(value: float) -> str:
    """A usual count as a person says it: 'about 12', 'about 1.8', 'none'."""
    if value < 0.05:
        return "none"
    if value >= 10:
        return f"about {round(value):,}"
    return f"about {_fmt(value)}"


def _count(value: float) -> str:
    return f"{round(value):,}" if value >= 10 else _fmt(value)


def _big(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M".replace(".0M", "M")
    if value >= 10_000:
        return f"{round(value / 1000)}k"
    return f"{round(value):,}"


def _minutes(value: Any) -> int | None:
    m = _num(value)
    return int(m) if m is not None and m > 0 else None


def _headline_count(alert: AlertSnapshot) -> str | None:
    """'N negative posts in the last 30 minutes; usually about M' (counts of the
    same label; for volume and silence, of all posts)."""
    ev = alert.evidence
    minutes = _minutes(ev.get("window_minutes") or ev.get("silent_minutes"))
    if minutes is None:
        return None
    if alert.kind in _LABEL_POSTS:
        observed, usual = _num(ev.get("observed_count")), _num(ev.get("expected_count"))
        what = _LABEL_POSTS[alert.kind]
    else:
        observed, usual = _num(ev.get("observed")), _num(ev.get("expected"))
        what = "posts"
    if observed is None or usual is None:
        return None
    span = f"{minutes} minutes" if minutes < 120 or minutes % 60 else f"{minutes // 60} hours"
    return f"{_count(observed)} {what} in the last {span}; usually {_about(usual)}"


def _numbers(alert: AlertSnapshot) -> str:
    ev = alert.evidence
    lines: list[str] = []
    observed, expected, score = (
        _num(ev.get("observed")),
        _num(ev.get("expected")),
        _num(ev.get("score")),
    )
    headline = _headline_count(alert)
    if headline is not None:
        lines.append(f"*{headline}*")
        total, usual_total = _num(ev.get("total_posts")), _num(ev.get("expected_total_posts"))
        if alert.kind in _LABEL_POSTS and total is not None and usual_total is not None:
            times = f" ({total / usual_total:.1f}× the usual volume)" if usual_total > 0 else ""
            lines.append(f"of {_count(total)} posts; usually {_about(usual_total)}{times}")
    elif observed is not None and expected is not None:
        lines.append(f"*Observed* {_fmt(observed)} vs *expected* ~{_fmt(expected)}")
    share = _num(ev.get("share"))
    if share is None:
        share = _num(ev.get("observed_share"))
    if share is not None:
        usual = _num(ev.get("expected_share"))
        extra = f" (usually {round(usual * 100)}%)" if usual is not None else ""
        label = " negative" if alert.kind is AlertKind.NEGATIVE_SURGE else ""
        label = " parody" if alert.kind is AlertKind.PARODY_SURGE else label
        lines.append(f"*Share* {round(share * 100)}%{label}{extra}")
    severity = f"*Severity* {alert.severity}"
    reason = ev.get("severity_reason")
    if isinstance(reason, str) and reason:
        if ev.get("severity_measured") == str(alert.severity):
            severity += f": {escape(cut(reason, 120))}"
        else:
            severity += " (held from earlier in this wave)"
    lines.append(severity + (f" · *Score* {score:.1f}" if score is not None else ""))
    reach = ev.get("reach")
    if isinstance(reach, dict):
        authors, followers, engaged = (
            _num(reach.get(k)) for k in ("authors", "followers", "engagement")
        )
        if authors is not None and followers is not None:
            parts = [f"{_big(authors)} authors", f"{_big(followers)} followers together"]
            if engaged:
                parts.append(f"{_big(engaged)} likes, shares and replies")
            lines.append("*Reach* " + " · ".join(parts))
    opened = _when(alert.opened_at)
    started = _when(ev.get("wave_started_at"))
    if started:
        lines.append(f"*Wave started* {started} · *alert opened* {opened}")
    else:
        since = _when(ev.get("window_start") or ev.get("since"))
        lines.append(f"*Since* {since}" if since else f"*Alert opened* {opened}")
    window = _window(ev.get("baseline_window"))
    if window:
        lines.append(f"*Baseline* {escape(cut(window, 200))}")
    if ev.get("fallback"):
        lines.append("_Short history: baseline in fallback mode, so treat “usually” as rough._")
    return "\n".join(lines)


def _seen_late(alert: AlertSnapshot) -> str | None:
    """A surge found when its posts arrived late (evidence "seen_late", core.late)."""
    late = alert.evidence.get("seen_late")
    minutes = _num(late.get("behind_minutes")) if isinstance(late, dict) else None
    if minutes is None:
        return None
    unit = "minute" if round(minutes) == 1 else "minutes"
    return f"🕒 _seen late: the channel was behind by {round(minutes)} {unit}_"


def _safe_url(url: Any) -> str | None:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return None
    if any(ch.isspace() or ch in "<>|" for ch in url) or len(url) > 2000:
        return None
    return url.replace("&", "&amp;")


def _short(value: float) -> str:
    """1234 → 1.2k, 200000 → 200k, 999999 → 1M, 1500000 → 1.5M."""
    for size, unit in ((1e6, "M"), (1e3, "k")):
        if value >= size * 0.9995:
            short = value / size
            return (f"{short:.1f}" if short < 9.95 else f"{short:.0f}").removesuffix(".0") + unit
    return str(int(value))


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
    head = f"*@{handle}*"
    followers = _num(sample.get("followers"))
    if followers is not None and followers >= 0:
        head += f" · {_short(followers)} followers"
    copies = _num(sample.get("copies"))
    if copies is not None and copies >= 2:
        head += f" · *x{int(copies)}* (near-identical posts)"
    head += f" · _{escape(' · '.join(tags))}_" if tags else ""
    body = f"> {escape(cut(text, MAX_POST_CHARS))}" if text else "> _(no text)_"
    url = _safe_url(sample.get("url"))
    link = f"\n<{url}|View post>" if url else ""
    return f"{head}\n{body}{link}"


def _own_post(evidence: dict[str, Any]) -> str | None:
    """The watch's own post a parody surge mocks (evidence["own_post"]), one line:
    "Parodies of your post: <text> (<time>, <link>)"."""
    own = evidence.get("own_post")
    if not isinstance(own, dict) or not own.get("text"):
        return None
    text = escape(cut(" ".join(str(own["text"]).split()), MAX_POST_CHARS))
    when = _when(own.get("created_at"))
    url = _safe_url(own.get("url"))
    details = [d for d in (when, f"<{url}|View post>" if url else None) if d]
    return f"Parodies of your post: {text}" + (f" ({', '.join(details)})" if details else "")
