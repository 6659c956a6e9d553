"""Guidance as detection renders it, from the shipped playbooks, for tests that build
alerts by hand: the playbook of (kind, severity, evidence), the watch's name."""

from __future__ import annotations

from typing import Any

from app.core import guidance
from app.core.model import AlertKind
from app.playbooks import shipped_playbooks


def guidance_for(
    kind: AlertKind,
    evidence: dict[str, Any],
    severity: str | None = "warning",
    watch_name: str | None = None,
) -> dict[str, Any]:
    playbook = shipped_playbooks().select(kind, severity, evidence)
    return guidance.guidance_for(kind, evidence, playbook, watch_name=watch_name)
