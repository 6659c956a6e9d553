"""Engagement guidance for an alert: what the comms on-call should (not) do.

Deterministic templates per AlertKind. Numbers from the evidence (share,
observed, expected) may appear in the headline; everything else is fixed text,
so the snapshot stored on the alert re-renders identically. Standard library only.
"""

from __future__ import annotations

import math
from typing import Any

from app.core.model import AlertKind

_COMMON_DO = [
    "Acknowledge publicly and early: say you have seen it and are looking into it.",
    "Keep replies short, factual and human; answer the substance, not the tone.",
    "Post updates on the channel where the conversation is happening, at a stated cadence.",
    "Log what you say and when, so the next shift can pick up.",
]
_COMMON_DONT = [
    "Don't delete or hide critical posts or replies; screenshots survive and deletion looks like a cover-up.",  # noqa: E501
    "Don't argue with or correct individuals one by one in public.",
    "Don't go dark: silence reads as indifference. A holding line beats no line.",
    "Don't speculate or promise outcomes you cannot yet confirm.",
]

_TEMPLATES: dict[AlertKind, dict[str, Any]] = {
    AlertKind.NEGATIVE_SURGE: {
        "headline": "Negative posts are well above normal{numbers}. Acknowledge, then inform.",
        "do": [
            *_COMMON_DO,
            "Check the sample posts for a single trigger (an incident, a post, a video) and address it directly.",  # noqa: E501
            "Escalate to the duty press officer if the surge involves an injury, a death or a named officer.",  # noqa: E501
        ],
        "dont": [
            *_COMMON_DONT,
            "Don't reply with templated PR language to angry individuals.",
        ],
        "holding_line": (
            "We're aware of the concerns being raised about {watch_topic} and we're "
            "looking into it. We'll share an update here by [time]."
        ),
    },
    AlertKind.PARODY_SURGE: {
        "headline": "A parody of your own post is spreading{numbers}. Read the room before replying.",  # noqa: E501
        "do": [
            "Read the parody and the replies: is it affectionate mockery or anger in a joke's clothing?",  # noqa: E501
            "If the original post was a mistake, acknowledge it plainly and correct it.",
            "Consider light, self-aware engagement only if the tone is good-natured and nothing serious is behind it.",  # noqa: E501
            "Keep the original post up; if it needs correcting, add a follow-up.",
        ],
        "dont": [
            "Don't demand takedowns or report parody accounts for mockery alone; it amplifies them.",  # noqa: E501
            "Don't delete the original post; the parody already preserves it.",
            "Don't argue with or lecture the people sharing it.",
            "Don't joke along if the parody points at real harm or a sensitive incident.",
            "Don't go dark on your other channels; carry on with planned, non-tone-deaf posts.",
        ],
        "holding_line": (
            "Fair point, that post didn't land the way we meant. Here's what we were "
            "trying to say: [one-line clarification]."
        ),
    },
    AlertKind.VOLUME_SURGE: {
        "headline": "Mentions are well above normal{numbers}. Find out why before you respond.",
        "do": [
            "Skim the sample posts to find the driver: news story, incident, viral post or campaign.",  # noqa: E501
            "If it is an incident, acknowledge it and point people to the official source of updates.",  # noqa: E501
            "Watch the sentiment: a volume surge can turn negative quickly.",
            "Brief the duty press officer if media are picking it up.",
        ],
        "dont": [
            "Don't assume it's good news or bad news before reading the posts.",
            "Don't delete or hide posts to slow the conversation down.",
            "Don't go dark: if people are asking questions, say when answers will come.",
        ],
        "holding_line": (
            "We're seeing a lot of questions about {watch_topic}. We're gathering the "
            "facts and will post an update here by [time]."
        ),
    },
    AlertKind.CHANNEL_SILENT: {
        "headline": "No posts have arrived from this source{numbers}. This is a source-health alert, not a comms one.",  # noqa: E501
        "do": [
            "Check the poller: is the job running and is the source reachable?",
            "Check the channel credentials or API token: expired, revoked or rate-limited?",
            "Check whether the account or search terms changed on the platform side.",
            "Until it is fixed, monitor the channel manually so a surge isn't missed.",
        ],
        "dont": [
            "Don't assume silence means nothing is happening.",
            "Don't post publicly about it; nothing external needs to be said.",
            "Don't silence or resolve this alert before data is flowing again.",
        ],
        "holding_line": (
            "(Internal only) Monitoring for this channel is interrupted; we're checking "
            "the connection and watching the channel manually meanwhile."
        ),
    },
}


_SHARE_LABEL = {AlertKind.NEGATIVE_SURGE: "negative", AlertKind.PARODY_SURGE: "parody"}


def _num(value: Any) -> float | None:
    """A finite number from evidence, or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _fmt(value: float) -> str:
    return str(int(round(value))) if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _numbers(kind: AlertKind, evidence: dict[str, Any]) -> str:
    """A short parenthetical with the key evidence numbers, or ''."""
    share = _num(evidence.get("share"))
    observed = _num(evidence.get("observed"))
    expected = _num(evidence.get("expected"))
    parts: list[str] = []
    if kind is AlertKind.CHANNEL_SILENT:
        if expected is not None and expected > 0:
            parts.append(f"about {_fmt(expected)} expected")
    else:
        if share is not None and 0 <= share <= 1:
            label = _SHARE_LABEL.get(kind, "of posts")
            parts.append(f"{round(share * 100)}% {label}")
        count, usual = _num(evidence.get("observed_count")), _num(evidence.get("expected_count"))
        minutes = _num(evidence.get("window_minutes"))
        if count is not None and usual is not None and minutes is not None and minutes > 0:
            # counts of the label against its usual count (issue #18 item 3)
            parts.append(f"{_fmt(count)} vs about {_fmt(usual)} usual in {int(minutes)} minutes")
        elif observed is not None and expected is not None:
            parts.append(f"{_fmt(observed)} vs about {_fmt(expected)} expected")
    return f" ({', '.join(parts)})" if parts else ""


def guidance_for(kind: AlertKind, evidence: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready guidance {headline, do, dont, holding_line} for one alert kind."""
    template = _TEMPLATES[AlertKind(kind)]
    topic = evidence.get("topic")
    watch_topic = topic.strip() if isinstance(topic, str) and topic.strip() else "this"
    return {
        "headline": template["headline"].format(numbers=_numbers(AlertKind(kind), evidence)),
        "do": list(template["do"]),
        "dont": list(template["dont"]),
        "holding_line": template["holding_line"].format(watch_topic=watch_topic),
    }
