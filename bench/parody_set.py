"""Load the varied parody evaluation set of bench/parody_cases (see its README.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CASES = Path(__file__).resolve().parent / "parody_cases"
EVERYDAY = "_everyday"  # traffic naming no organisation: scored against every one

DEV_STYLES = ("phrase_twist", "word_swap", "sarcastic_praise", "quote_eyeroll")
HELD_STYLES = ("hashtag_hijack", "meme", "sentence_shape", "really_reply")
STYLES = DEV_STYLES + HELD_STYLES
LABELS = ("parody", "sincere", "complaint", "ordinary")


@dataclass(frozen=True)
class Org:
    id: str
    name: str
    split: str  # DEV or HELD
    terms: tuple[str, ...]
    handles: tuple[str, ...]
    own_posts: tuple[tuple[str, str], ...]  # (id, text)


@dataclass(frozen=True)
class Case:
    org: str  # an Org id, or EVERYDAY
    label: str  # parody / sincere / complaint / ordinary
    style: str
    of: str | None  # the own post it echoes
    text: str

    @property
    def is_parody(self) -> bool:
        return self.label == "parody"


def style_split(style: str) -> str:
    return "DEV" if style in DEV_STYLES else "HELD" if style in HELD_STYLES else "-"


def load_orgs(root: Path = CASES) -> list[Org]:
    raw = json.loads((root / "orgs.json").read_text(encoding="utf-8"))
    return [
        Org(
            o["id"],
            o["name"],
            o["split"],
            tuple(o["terms"]),
            tuple(o["handles"]),
            tuple((p["id"], p["text"]) for p in o["own_posts"]),
        )
        for o in raw["orgs"]
    ]


def _parse(path: Path, org: str, own_ids: set[str]) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(" | ", 3)
        if len(parts) != 4:
            raise SystemExit(f"{path}:{n}: expected 'label | style | of | text'")
        label, style, of, text = (p.strip() for p in parts)
        if label not in LABELS:
            raise SystemExit(f"{path}:{n}: unknown label {label!r}")
        if label == "parody" and style not in STYLES:
            raise SystemExit(f"{path}:{n}: unknown parody style {style!r}")
        if of != "-" and of not in own_ids:
            raise SystemExit(f"{path}:{n}: unknown own post {of!r}")
        cases.append(Case(org, label, style, None if of == "-" else of, text.replace("\\n", "\n")))
    return cases


def load_cases(orgs: list[Org], root: Path = CASES) -> list[Case]:
    cases: list[Case] = []
    for org in orgs:
        cases += _parse(root / "orgs" / f"{org.id}.txt", org.id, {i for i, _ in org.own_posts})
    cases += _parse(root / "orgs" / f"{EVERYDAY}.txt", EVERYDAY, set())
    return cases
