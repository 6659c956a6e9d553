"""Engagement guidance for an alert: what the comms on-call should (not) do.

Rendered from the playbook chosen for the alert (app.core.playbooks; the texts are
TOML files in app/playbooks, overridable by GROUNDSWELL_PLAYBOOK_DIR). Numbers from
the evidence (share, observed, expected) and the watch's topic / name fill the
templates; the result, with the playbook's id and version, is the snapshot stored on
the alert, so a later edit of the file never rewrites it. Standard library only.
"""

from __future__ import annotations

import math
from typing import Any

from app.core.model import AlertKind
from app.core.playbooks import Playbook

MISSING = "[n/a]"  # a number a template names that the evidence does not have

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


def _values(kind: AlertKind, evidence: dict[str, Any], watch_name: str | None) -> dict[str, str]:
    topic = evidence.get("topic")
    topic = topic.strip() if isinstance(topic, str) and topic.strip() else None
    name = watch_name.strip() if isinstance(watch_name, str) and watch_name.strip() else None
    share = _num(evidence.get("share"))
    minutes = _num(evidence.get("window_minutes"))
    observed = _num(evidence.get("observed_count"))
    observed = observed if observed is not None else _num(evidence.get("observed"))
    expected = _num(evidence.get("expected_count"))
    expected = expected if expected is not None else _num(evidence.get("expected"))
    return {
        "topic": topic or name or "this",
        "watch_name": name or topic or "this watch",
        "numbers": _numbers(kind, evidence),
        "observed": MISSING if observed is None else _fmt(observed),
        "expected": MISSING if expected is None else _fmt(expected),
        "share_percent": (
            f"{round(share * 100)}%" if share is not None and 0 <= share <= 1 else MISSING
        ),
        "window_minutes": MISSING if minutes is None or minutes <= 0 else str(int(minutes)),
    }


def guidance_for(
    kind: AlertKind, evidence: dict[str, Any], playbook: Playbook, *, watch_name: str | None = None
) -> dict[str, Any]:
    """JSON-ready guidance from `playbook`: {headline, do, dont, holding_line} (what Slack
    and the API render), what is happening, who to tell, when to stand down, and
    playbook {id, version} (the snapshot's provenance)."""
    values = _values(AlertKind(kind), evidence, watch_name)
    return {
        "headline": playbook.headline.format_map(values),
        "what": playbook.what.format_map(values),
        "do": list(playbook.do),
        "dont": list(playbook.dont),
        "tell": [line.format_map(values) for line in playbook.tell],
        "holding_line": playbook.holding_statement.format_map(values),
        "stand_down": playbook.stand_down,
        "playbook": {"id": playbook.id, "version": playbook.version},
    }


def refreshed(
    previous: dict[str, Any] | None,
    kind: AlertKind,
    evidence: dict[str, Any],
    playbook: Playbook,
    *,
    watch_name: str | None = None,
) -> dict[str, Any]:
    """The guidance of an alert that is updated: re-rendered (its numbers follow the
    evidence) unless the snapshot came from another version of the same playbook, which
    then stays as it was (an edit of the file never rewrites an alert's history). A
    different playbook (the severity changed) is applied afresh, with its id and version."""
    applied = (previous or {}).get("playbook")
    if (
        isinstance(applied, dict)
        and applied.get("id") == playbook.id
        and applied.get("version") != playbook.version
    ):
        return dict(previous or {})
    return guidance_for(kind, evidence, playbook, watch_name=watch_name)
