"""Playbooks as data (issue #21): the shipped files load and cover every alert kind,
an organisation's directory replaces or adds, a bad file is refused naming file, line
and key, the selector picks by kind / severity / evidence, and a snapshot survives an
edit of its playbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.guidance import guidance_for, refreshed
from app.core.model import AlertKind, Severity
from app.core.playbooks import PlaybookError, load_set, parse_playbook
from app.playbooks import load_playbooks, override_files, shipped_files, shipped_playbooks

SHIPPED_DIR = Path(__file__).parents[2] / "app" / "playbooks"
EVIDENCE = {"observed": 142, "expected": 18.2, "share": 0.64, "topic": "the Eastside raid"}


def shipped_text(name: str) -> str:
    return (SHIPPED_DIR / f"{name}.toml").read_text(encoding="utf-8")


def test_shipped_playbooks_cover_every_kind_and_the_named_severities() -> None:
    books = shipped_playbooks()
    slots = {(p.kind, p.severity, bool(p.when)) for p in books.all()}
    assert slots == {
        (AlertKind.NEGATIVE_SURGE, Severity.WARNING, False),
        (AlertKind.NEGATIVE_SURGE, Severity.CRITICAL, False),
        (AlertKind.NEGATIVE_SURGE, None, True),  # the offensive-heavy variant
        (AlertKind.PARODY_SURGE, Severity.WARNING, False),
        (AlertKind.PARODY_SURGE, Severity.CRITICAL, False),
        (AlertKind.VOLUME_SURGE, Severity.INFO, False),
        (AlertKind.VOLUME_SURGE, Severity.WARNING, False),
        (AlertKind.CHANNEL_SILENT, None, False),
    }
    for kind in AlertKind:
        for severity in Severity:
            assert books.select(kind, severity, {}).kind is kind
    assert all(p.source == "shipped" and p.version >= 1 and p.sources for p in books.all())


def test_shipped_playbooks_cite_and_carry_the_public_practice() -> None:
    books = {p.id: p for p in shipped_playbooks().all()}
    for pid in ("negative_surge_warning", "negative_surge_critical", "negative_surge_offensive"):
        p = books[pid]
        assert any("cdc.gov/cerc" in s for s in p.sources), pid
        dont = " ".join(p.dont).lower()
        assert "delete" in dont and "argue" in dont and "one by one" in dont, pid
    critical = " ".join(books["negative_surge_critical"].dont).lower()
    assert "shut the account" in critical
    assert (
        "correct a factual error once, with a source"
        in " ".join(books["negative_surge_critical"].do).lower()
    )
    assert "take abuse offline" in " ".join(books["negative_surge_offensive"].do).lower()
    for pid in ("parody_surge_warning", "parody_surge_critical"):
        do, dont = " ".join(books[pid].do).lower(), " ".join(books[pid].dont).lower()
        assert "author" in dont and "takedown" in dont, pid
        assert "concern behind it" in do and "pause" in do and "scheduled posts" in do, pid
    assert "factual response" in " ".join(books["parody_surge_critical"].do).lower()


def test_guidance_is_rendered_from_the_playbook_with_its_snapshot_id() -> None:
    book = shipped_playbooks().select(AlertKind.NEGATIVE_SURGE, "critical", EVIDENCE)
    g = guidance_for(AlertKind.NEGATIVE_SURGE, EVIDENCE, book, watch_name="Metro Police")
    assert g["playbook"] == {"id": "negative_surge_critical", "version": 1}
    assert "(64% negative, 142 vs about 18.2 expected)" in g["headline"]
    assert "the Eastside raid" in g["holding_line"] and "the Eastside raid" in g["what"]
    assert g["tell"][0] == "The duty press officer for Metro Police (now)"
    assert g["do"] == list(book.do) and g["dont"] == list(book.dont)
    assert g["stand_down"] == book.stand_down


def test_the_offensive_heavy_variant_is_chosen_only_when_abuse_is_heavy() -> None:
    books = shipped_playbooks()
    assert books.select("negative_surge", "warning", {"offensive_share": 0.45}).id == (
        "negative_surge_offensive"
    )
    assert books.select("negative_surge", "critical", {"offensive_share": 0.3}).id == (
        "negative_surge_offensive"
    )
    for evidence in ({"offensive_share": 0.29}, {}, {"offensive_share": "lots"}):
        assert books.select("negative_surge", "warning", evidence).id == "negative_surge_warning"
    assert books.select("volume_surge", "critical", {}).id == "volume_surge_warning"  # nearest


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_an_override_directory_replaces_one_by_id_and_adds_new_ids(tmp_path: Path) -> None:
    edited = shipped_text("negative_surge_warning").replace("version = 1", "version = 3")
    edited = edited.replace(
        "We're aware of the concerns", "Thanks for telling us. We're aware of the concerns"
    )
    _write(tmp_path, "ours.toml", edited)
    extra = (
        shipped_text("volume_surge_info").replace(
            'id = "volume_surge_info"', 'id = "volume_surge_offensive"'
        )
        + "\n[when]\noffensive_share_at_least = 0.5\n"
    )
    _write(tmp_path, "extra.toml", extra)
    _write(tmp_path, "notes.txt", "not a playbook")  # only *.toml are read
    books = load_playbooks(tmp_path)
    by_id = {p.id: p for p in books.all()}
    assert len(by_id) == len(shipped_playbooks().all()) + 1
    ours = by_id["negative_surge_warning"]
    assert (ours.version, ours.source, ours.file) == (3, "override", str(tmp_path / "ours.toml"))
    assert ours.holding_statement.startswith("Thanks for telling us.")
    assert by_id["volume_surge_offensive"].source == "override"
    assert by_id["negative_surge_critical"].source == "shipped"
    g = guidance_for("negative_surge", EVIDENCE, books.select("negative_surge", "warning", {}))
    assert g["playbook"] == {"id": "negative_surge_warning", "version": 3}
    assert g["holding_line"].startswith("Thanks for telling us.")


def test_a_syntax_error_is_refused_with_file_and_line(tmp_path: Path) -> None:
    text = shipped_text("channel_silent").replace('title = "Channel silent"', "title = Channel")
    line = text.splitlines().index("title = Channel") + 1
    path = _write(tmp_path, "broken.toml", text)
    with pytest.raises(PlaybookError) as info:
        load_playbooks(tmp_path)
    assert info.value.file == str(path) and info.value.line == line
    assert str(info.value).startswith(f"{path} line {line}: Invalid value")
    assert "\n" not in str(info.value)


def test_a_missing_key_is_refused_naming_the_key(tmp_path: Path) -> None:
    lines = shipped_text("channel_silent").splitlines()
    text = "\n".join(x for x in lines if not x.startswith("stand_down"))
    path = _write(tmp_path, "short.toml", text)
    with pytest.raises(PlaybookError) as info:
        load_playbooks(tmp_path)
    assert str(info.value) == f"{path}: key 'stand_down': missing (required)"


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        ('kind = "channel_silent"', 'kind = "chanel_silent"', "kind", "must be one of"),
        ("version = 1", 'version = "one"', "version", "whole number"),
        ('"Whoever runs groundswell for {watch_name}"', '"{watch}"', "tell", "{watch}"),
        ("id = ", "colour = 1\nid = ", "colour", "not a playbook key"),
        ("stand_down = ", "stand_dwon = ", "stand_dwon", "not a playbook key"),
        ("(Internal only) Monitoring", "{observed:d} Monitoring", "holding", "no format spec"),
        ("(Internal only) Monitoring", "{ Monitoring", "holding", "literal brace twice"),
        ("(Internal only) Monitoring", "{topic.upper} Monitoring", "holding", "unknown"),
    ],
)
def test_a_schema_error_names_the_key_and_its_line(old: str, new: str, key: str, reason: str):
    text = shipped_text("channel_silent").replace(old, new)
    line = next(i for i, x in enumerate(text.splitlines(), 1) if x.startswith(key))
    key = "holding_statement" if key == "holding" else key
    with pytest.raises(PlaybookError) as info:
        parse_playbook(text, file="mine.toml")
    assert (info.value.file, info.value.line, info.value.key) == ("mine.toml", line, key)
    assert str(info.value).startswith(f"mine.toml line {line}: key '{key}': ")
    assert reason in info.value.reason


def test_two_playbooks_for_one_slot_and_a_kind_left_uncovered_are_refused(tmp_path: Path):
    twin = shipped_text("channel_silent").replace('id = "channel_silent"', 'id = "silent2"')
    _write(tmp_path, "twin.toml", twin)
    with pytest.raises(PlaybookError, match="both cover channel_silent any severity"):
        load_playbooks(tmp_path)
    books = [p for p in shipped_files() if p.kind is not AlertKind.CHANNEL_SILENT]
    with pytest.raises(PlaybookError, match="no playbook without conditions for channel_silent"):
        load_set(books)
    (tmp_path / "twin.toml").unlink()
    _write(tmp_path, "a.toml", shipped_text("channel_silent"))
    _write(tmp_path, "b.toml", shipped_text("channel_silent"))
    with pytest.raises(PlaybookError, match="id 'channel_silent' is also used by"):
        load_set(shipped_files(), override_files(tmp_path))


def test_a_snapshot_keeps_its_version_when_the_playbook_is_edited() -> None:
    v1 = shipped_playbooks().select("negative_surge", "warning", {})
    first = guidance_for("negative_surge", EVIDENCE, v1, watch_name="Metro Police")
    v2 = parse_playbook(
        shipped_text("negative_surge_warning")
        .replace("version = 1", "version = 2")
        .replace("We're aware of", "EDITED: we're aware of"),
        file="edited.toml",
    )
    grown = {**EVIDENCE, "observed": 300}
    kept = refreshed(first, "negative_surge", grown, v2, watch_name="Metro Police")
    assert kept == first and kept["playbook"] == {"id": "negative_surge_warning", "version": 1}
    assert "EDITED" not in kept["holding_line"]
    same = refreshed(first, "negative_surge", grown, v1, watch_name="Metro Police")
    assert "300 vs about 18.2 expected" in same["headline"]  # same version: numbers follow
    other = shipped_playbooks().select("negative_surge", "critical", {})
    escalated = refreshed(first, "negative_surge", grown, other, watch_name="Metro Police")
    assert escalated["playbook"] == {"id": "negative_surge_critical", "version": 1}
