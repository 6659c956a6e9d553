"""Playbooks as data (issue #21): parse, validate and select the engagement playbook
for an alert. A playbook is one TOML document; the adapter (app.playbooks) reads the
files and hands their text here. Standard library only (tomllib is stdlib).

A bad playbook raises PlaybookError naming the file, the line when known (tomllib's
syntax errors carry it; a schema error names its key and the line the key is on) and
the reason, so `serve` refuses to start with one line.
"""

from __future__ import annotations

import re
import string
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from app.core.model import AlertKind, Severity

SHIPPED, OVERRIDE = "shipped", "override"
# What a template may name: the watch, and numbers from the alert's evidence.
PLACEHOLDERS = frozenset(
    {"topic", "watch_name", "numbers", "observed", "expected", "share_percent", "window_minutes"}
)
# Evidence conditions a variant may set: key -> the evidence number it compares.
CONDITIONS = {"offensive_share_at_least": "offensive_share"}
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")
_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class PlaybookError(Exception):
    """A playbook that cannot be used: file, line (when known), key (when known), reason."""

    def __init__(self, file: str, reason: str, *, line: int | None = None, key: str | None = None):
        where = file if line is None else f"{file} line {line}"
        what = f"key {key!r}: {reason}" if key else reason
        super().__init__(f"{where}: {what}")
        self.file, self.line, self.key, self.reason = file, line, key, reason


@dataclass(frozen=True, slots=True)
class Playbook:
    id: str
    version: int
    kind: AlertKind
    severity: Severity | None  # None: any severity of its kind
    title: str
    headline: str  # template; {numbers} is the evidence parenthetical
    what: str  # what is happening, in plain words
    do: tuple[str, ...]
    dont: tuple[str, ...]
    tell: tuple[str, ...]  # who to tell; templates ({watch_name})
    holding_statement: str  # template
    stand_down: str
    sources: tuple[str, ...]
    when: tuple[tuple[str, float], ...] = ()  # variant conditions, e.g. offensive share
    file: str = ""
    source: str = SHIPPED

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "kind": str(self.kind),
            "severity": None if self.severity is None else str(self.severity),
            "variant": bool(self.when),
            "title": self.title,
            "source": self.source,
        }

    def matches(self, evidence: Mapping[str, Any]) -> bool:
        for condition, threshold in self.when:
            value = evidence.get(CONDITIONS[condition])
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            if not value >= threshold:
                return False
        return True


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*(\[\s*)?{re.escape(key)}\s*(=|\])", re.MULTILINE)
    found = pattern.search(text)
    return text.count("\n", 0, found.start()) + 1 if found else None


def _template_problem(template: str) -> str | None:
    """Why a template cannot be filled safely, or None: only known names, no format
    spec or conversion (a literal brace is written twice: {{ }})."""
    try:
        fields = [(n, spec, conv) for _, n, spec, conv in string.Formatter().parse(template)]
    except ValueError as exc:
        return f"bad template: {exc} (write a literal brace twice: {{{{ }}}})"
    for name, spec, conversion in fields:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            return f"unknown placeholder {{{name}}}; use one of {', '.join(sorted(PLACEHOLDERS))}"
        if spec or conversion:
            return f"placeholder {{{name}}} takes no format spec or conversion"
    return None


def parse_playbook(text: str, *, file: str, source: str = SHIPPED) -> Playbook:
    """One playbook from its TOML text, or PlaybookError naming file, line and reason."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        at = _AT_LINE.search(str(exc))
        reason = _AT_LINE.sub("", str(exc)).strip()
        raise PlaybookError(
            file,
            f"{reason} (column {at.group(2)})" if at else reason,
            line=int(at.group(1)) if at else None,
        ) from None

    def fail(key: str, reason: str) -> PlaybookError:
        return PlaybookError(file, reason, line=_line_of(text, key.split(".")[-1]), key=key)

    def required(key: str) -> Any:
        if key not in data:
            raise PlaybookError(file, "missing (required)", key=key)
        return data[key]

    def checked(key: str, value: str, template: bool) -> str:
        problem = _template_problem(value) if template else None
        if problem:
            raise fail(key, problem)
        return value.strip()

    def text_of(key: str, *, template: bool = False) -> str:
        value = required(key)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "must be a non-empty string")
        return checked(key, value, template)

    def strings(key: str, *, template: bool = False, minimum: int = 1) -> tuple[str, ...]:
        value = required(key)
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise fail(key, "must be a list of non-empty strings")
        if len(value) < minimum:
            raise fail(key, f"needs at least {minimum} item(s)")
        return tuple(checked(key, v, template) for v in value)

    known = {
        "id", "version", "kind", "severity", "title", "headline", "what", "do", "dont",
        "tell", "holding_statement", "stand_down", "sources", "when",
    }  # fmt: skip
    extra = sorted(set(data) - known)
    if extra:
        raise fail(extra[0], "not a playbook key (a typo?)")
    pid = text_of("id")
    if not _ID.match(pid):
        raise fail("id", "must be lowercase letters, digits, '_', '-' or '.' (at most 64)")
    version = required("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail("version", "must be a whole number of at least 1")
    try:
        kind = AlertKind(text_of("kind"))
    except ValueError:
        raise fail("kind", f"must be one of {', '.join(k.value for k in AlertKind)}") from None
    severity: Severity | None = None
    if "severity" in data:
        try:
            severity = Severity(text_of("severity"))
        except ValueError:
            raise fail("severity", "must be info, warning or critical") from None
    when: list[tuple[str, float]] = []
    raw_when = data.get("when", {})
    if not isinstance(raw_when, dict):
        raise fail("when", "must be a table")
    for key, value in raw_when.items():
        if key not in CONDITIONS:
            raise fail(f"when.{key}", f"unknown condition; use one of {', '.join(CONDITIONS)}")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise fail(f"when.{key}", "must be a number from 0 to 1")
        when.append((key, float(value)))
    return Playbook(
        id=pid,
        version=version,
        kind=kind,
        severity=severity,
        title=text_of("title"),
        headline=text_of("headline", template=True),
        what=text_of("what", template=True),
        do=strings("do", minimum=2),
        dont=strings("dont", minimum=2),
        tell=strings("tell", template=True),
        holding_statement=text_of("holding_statement", template=True),
        stand_down=text_of("stand_down"),
        sources=strings("sources"),
        when=tuple(when),
        file=file,
        source=source,
    )


@dataclass(frozen=True, slots=True)
class PlaybookSet:
    """The loaded playbooks by id (overrides applied); covers every alert kind."""

    by_id: Mapping[str, Playbook]

    def all(self) -> list[Playbook]:
        return sorted(self.by_id.values(), key=lambda p: (p.kind.value, p.id))

    def select(
        self, kind: AlertKind, severity: Severity | str | None, evidence: Mapping[str, Any]
    ) -> Playbook:
        """The playbook for an alert: of its kind; a variant whose conditions the
        evidence meets before a plain one; then its severity exactly, then one for any
        severity, then the nearest severity; ties by id."""
        kind = AlertKind(kind)
        sev = Severity(severity) if severity else None
        candidates = [
            p for p in self.by_id.values() if p.kind is kind and (not p.when or p.matches(evidence))
        ]
        if not candidates:
            raise LookupError(f"no playbook for {kind}")  # load_set refuses such a set

        def rank(p: Playbook) -> tuple[int, int, int, str]:
            if p.severity is None or sev is None:
                distance = 1 if p.severity is None else 2
            elif p.severity is sev:
                distance = 0
            else:
                distance = 1 + abs(_SEVERITY_RANK[p.severity] - _SEVERITY_RANK[sev])
            return (0 if p.when else 1, distance, -len(p.when), p.id)

        return min(candidates, key=rank)


def load_set(shipped: Iterable[Playbook], overrides: Iterable[Playbook] = ()) -> PlaybookSet:
    """Shipped playbooks with overrides applied (same id replaces, new id adds).
    Refused: one id twice in one place, two plain playbooks for one kind and severity,
    or an alert kind with no plain playbook left."""
    by_id: dict[str, Playbook] = {}
    for group in (list(shipped), list(overrides)):
        seen: dict[str, Playbook] = {}
        for p in group:
            if p.id in seen:
                raise PlaybookError(p.file, f"id {p.id!r} is also used by {seen[p.id].file}")
            seen[p.id] = p
        by_id.update(seen)
    slots: dict[tuple[AlertKind, Severity | None, tuple[tuple[str, float], ...]], Playbook] = {}
    for p in sorted(by_id.values(), key=lambda p: p.id):
        slot = (p.kind, p.severity, p.when)
        if slot in slots:
            other = slots[slot]
            raise PlaybookError(
                p.file,
                f"{p.id!r} and {other.id!r} ({other.file}) both cover {p.kind} "
                f"{p.severity or 'any severity'}; give one another id to replace it",
            )
        slots[slot] = p
    for kind in AlertKind:
        if not any(p.kind is kind and not p.when for p in by_id.values()):
            raise PlaybookError("playbooks", f"no playbook without conditions for {kind}")
    return PlaybookSet(by_id)
