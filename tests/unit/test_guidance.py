"""Engagement guidance templates: shape, determinism, and the advice itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.core.model import AlertKind
from tests.playbook_guidance import guidance_for

EVIDENCE = {"observed": 142, "expected": 18.2, "score": 7.9, "share": 0.64}


@pytest.mark.parametrize("kind", list(AlertKind))
def test_every_kind_has_complete_json_ready_guidance(kind: AlertKind) -> None:
    g = guidance_for(kind, EVIDENCE)
    assert {"headline", "do", "dont", "holding_line", "what", "tell", "stand_down"} <= set(g)
    assert set(g["playbook"]) == {"id", "version"}
    assert isinstance(g["headline"], str) and g["headline"]
    assert isinstance(g["holding_line"], str) and g["holding_line"]
    assert len(g["do"]) >= 3 and all(isinstance(s, str) and s for s in g["do"])
    assert len(g["dont"]) >= 3 and all(isinstance(s, str) and s for s in g["dont"])
    assert json.loads(json.dumps(g)) == g


@pytest.mark.parametrize("kind", list(AlertKind))
def test_deterministic_and_not_shared(kind: AlertKind) -> None:
    a, b = guidance_for(kind, EVIDENCE), guidance_for(kind, dict(EVIDENCE))
    assert a == b
    a["do"].append("mutated")
    assert guidance_for(kind, EVIDENCE)["do"] == b["do"]


def text(kind: AlertKind, evidence: dict | None = None) -> str:  # type: ignore[type-arg]
    g = guidance_for(kind, EVIDENCE if evidence is None else evidence)
    return " ".join([g["headline"], *g["do"], *g["dont"], g["holding_line"]]).lower()


@pytest.mark.parametrize("kind", [AlertKind.NEGATIVE_SURGE, AlertKind.VOLUME_SURGE])
def test_surge_advice_covers_the_basics(kind: AlertKind) -> None:
    g = guidance_for(kind, EVIDENCE)
    dont = " ".join(g["dont"]).lower()
    assert "acknowledge" in " ".join(g["do"]).lower()
    assert "delete" in dont
    assert "go dark" in dont


def test_negative_surge_says_dont_argue_and_uses_share() -> None:
    g = guidance_for(AlertKind.NEGATIVE_SURGE, EVIDENCE)
    assert "argue" in " ".join(g["dont"]).lower()
    assert "64% negative" in g["headline"]
    assert "142" in g["headline"]


def test_parody_advice() -> None:
    g = guidance_for(AlertKind.PARODY_SURGE, {**EVIDENCE, "share": 0.3})
    dont, do = " ".join(g["dont"]).lower(), " ".join(g["do"]).lower()
    assert "takedown" in dont
    assert "delete" in dont
    assert "self-aware" in do and "tone" in do
    assert "30% parody" in g["headline"]


def test_channel_silent_is_source_health() -> None:
    g = guidance_for(AlertKind.CHANNEL_SILENT, {"observed": 0, "expected": 40})
    body = text(AlertKind.CHANNEL_SILENT, {"observed": 0, "expected": 40})
    assert "source-health" in g["headline"]
    assert "poller" in body and "credential" in body
    assert "internal" in g["holding_line"].lower()


@pytest.mark.parametrize(
    "evidence",
    [{}, {"share": "lots", "observed": None}, {"share": float("nan"), "expected": True}],
)
def test_missing_or_junk_numbers_leave_headline_plain(evidence: dict) -> None:  # type: ignore[type-arg]
    g = guidance_for(AlertKind.NEGATIVE_SURGE, evidence)
    assert "(" not in g["headline"] and "nan" not in g["headline"]


def test_accepts_plain_string_kind() -> None:
    assert guidance_for("parody_surge", {}) == guidance_for(AlertKind.PARODY_SURGE, {})  # type: ignore[arg-type]


def test_module_is_stdlib_only() -> None:
    heavy = ("sqlalchemy", "fastapi", "slack_sdk", "httpx", "sklearn")
    import app.core.guidance as mod

    source = Path(mod.__file__).read_text(encoding="utf-8")
    assert not any(f"import {m}" in source or f"from {m}" in source for m in heavy)
