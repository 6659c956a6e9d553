"""Playbooks through the service (issue #21): GET /api/v1/playbooks, a bad file refuses
`serve` with one line (exit 2), and an alert's guidance snapshot keeps its playbook id
and version after the file is edited (real database, the real detection pass)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.cli import main
from app.db.session import unit_of_work
from app.db.tables import Alert
from app.playbooks import load_playbooks
from app.runtime import build_runtime
from app.services.detection import detect_watch
from app.settings import ConfigError
from tests.builders import NEGATIVE, burst, history
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier
from tests.integration.test_api import AUTH, _client
from tests.integration.test_pipeline import SLACK, _ingest, _watch

SHIPPED_DIR = Path(__file__).parents[2] / "app" / "playbooks"
KEY = "test-key-0123456789abcdef"


def _override(directory: Path, pid: str, version: int, holding: str) -> None:
    text = (SHIPPED_DIR / f"{pid}.toml").read_text(encoding="utf-8")
    lines = [
        f"version = {version}" if x.startswith("version = ") else x
        for x in text.splitlines()
        if not x.startswith("holding_statement = ")
    ]
    lines.insert(3, f'holding_statement = "{holding}"')
    (directory / f"{pid}.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_get_playbooks_lists_shipped_and_override(session_factory, clock, db_engine, tmp_path):
    _override(tmp_path, "parody_surge_critical", 7, "Our own words about {topic}.")
    with _client(session_factory, clock, db_engine) as c:
        c.app.state.runtime.playbooks = load_playbooks(tmp_path)
        assert c.get("/api/v1/playbooks").status_code == 401
        r = c.get("/api/v1/playbooks", headers=AUTH)
    assert r.status_code == 200, r.text
    items = {p["id"]: p for p in r.json()["items"]}
    assert set(items) == {p.stem for p in SHIPPED_DIR.glob("*.toml")}
    assert items["parody_surge_critical"] == {
        "id": "parody_surge_critical",
        "version": 7,
        "kind": "parody_surge",
        "severity": "critical",
        "variant": False,
        "title": "Parody surge (critical)",
        "source": "override",
    }
    assert items["negative_surge_offensive"]["variant"] is True
    assert items["channel_silent"]["severity"] is None
    assert {p["source"] for k, p in items.items() if k != "parody_surge_critical"} == {"shipped"}


def test_the_runtime_refuses_a_bad_playbook_before_touching_the_database(tmp_path: Path):
    (tmp_path / "mine.toml").write_text('id = "x"\nversion = \n', encoding="utf-8")
    db = tmp_path / "g.db"
    settings = make_settings(database_url=f"sqlite:///{db}", playbook_dir=tmp_path)
    with pytest.raises(ConfigError) as info:
        build_runtime(settings, classifier=KeywordClassifier())
    assert info.value.variable == "GROUNDSWELL_PLAYBOOK_DIR"
    assert str(info.value).startswith(f"GROUNDSWELL_PLAYBOOK_DIR: {tmp_path / 'mine.toml'} line 2:")
    assert not db.exists()


def test_serve_with_a_bad_playbook_is_one_line_and_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    for name in list(os.environ):
        if name.startswith("GROUNDSWELL_") and not name.startswith("GROUNDSWELL_TEST_"):
            monkeypatch.delenv(name)
    books = tmp_path / "books"
    books.mkdir()
    text = (SHIPPED_DIR / "channel_silent.toml").read_text(encoding="utf-8")
    (books / "silent.toml").write_text(text.replace('kind = "channel_silent"', ""), "utf-8")
    monkeypatch.setenv("GROUNDSWELL_PLAYBOOK_DIR", str(books))
    monkeypatch.setenv("GROUNDSWELL_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    monkeypatch.setenv("GROUNDSWELL_BOOTSTRAP_API_KEY", KEY)
    assert main(["serve", "--port", str(_free_port())]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"groundswell: GROUNDSWELL_PLAYBOOK_DIR: {books / 'silent.toml'}: "
        "key 'kind': missing (required)\n"
    )
    assert not (tmp_path / "g.db").exists()


def test_a_missing_playbook_dir_is_a_settings_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="playbook_dir .* is not an existing directory"):
        make_settings(playbook_dir=tmp_path / "nope")


def _alert(factory, watch_id: str) -> Alert:
    with unit_of_work(factory) as s:
        return s.scalar(select(Alert).where(Alert.watch_id == watch_id))


def _detect(factory, clock, watch_id, playbooks):
    with unit_of_work(factory) as s:
        return detect_watch(s, watch_id=watch_id, now=clock.now(), slack=SLACK, playbooks=playbooks)


def test_an_alert_keeps_its_playbook_version_after_the_file_is_edited(
    session_factory, clock, tmp_path
):
    first, second = tmp_path / "v1", tmp_path / "v2"
    first.mkdir()
    second.mkdir()
    for pid in ("negative_surge_warning", "negative_surge_critical"):
        _override(first, pid, 1, "Version one: we hear you about {topic}.")
        _override(second, pid, 2, "Version two: an edited line about {topic}.")
    v1, v2 = load_playbooks(first), load_playbooks(second)

    wid = _watch(session_factory, clock)
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(session_factory, clock, wid, v1)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, burst(clock.now(), 60, NEGATIVE, "b"), KeywordClassifier())
    assert _detect(session_factory, clock, wid, v1).actions["negative_surge"].startswith("open:")
    opened = _alert(session_factory, wid)
    snapshot = dict(opened.guidance)
    assert snapshot["playbook"]["version"] == 1
    assert snapshot["playbook"]["id"] == f"negative_surge_{opened.severity}"
    assert snapshot["holding_line"] == "Version one: we hear you about Metro Police."

    # the organisation edits its playbook; the next pass reads the new files
    clock.advance(timedelta(minutes=4))
    _ingest(session_factory, clock, wid, burst(clock.now(), 90, NEGATIVE, "t"), KeywordClassifier())
    outcome = _detect(session_factory, clock, wid, v2)
    assert outcome.actions["negative_surge"].split(":")[0] in {"touch", "update"}
    touched = _alert(session_factory, wid)
    assert touched.id == opened.id and touched.evidence != opened.evidence
    assert touched.guidance == snapshot  # history is not rewritten by the edit

    # the same version re-renders (its numbers follow the evidence)
    clock.advance(timedelta(minutes=4))
    _ingest(session_factory, clock, wid, burst(clock.now(), 90, NEGATIVE, "u"), KeywordClassifier())
    _detect(session_factory, clock, wid, v1)
    again = _alert(session_factory, wid)
    assert again.guidance["playbook"] == snapshot["playbook"]
    assert again.guidance["headline"] != snapshot["headline"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


ABUSIVE = [
    "You idiots, this is a disgrace",
    "Useless idiots, worst response ever",
    "Absolutely awful handling of this, shame on them",
]


@pytest.mark.parametrize(
    ("texts", "playbook", "share"),
    [
        (ABUSIVE, {"negative_surge_offensive"}, 0.667),
        (NEGATIVE, {"negative_surge_warning", "negative_surge_critical"}, 0.0),
    ],
)
def test_a_negative_wave_heavy_with_abuse_gets_the_offensive_playbook(
    session_factory, clock, texts, playbook, share
):
    wid = _watch(session_factory, clock)
    books = load_playbooks()
    _ingest(session_factory, clock, wid, history(clock.now(), days=8), KeywordClassifier())
    _detect(session_factory, clock, wid, books)
    clock.advance(timedelta(minutes=1))
    _ingest(session_factory, clock, wid, burst(clock.now(), 60, texts, "b"), KeywordClassifier())
    assert _detect(session_factory, clock, wid, books).actions["negative_surge"].startswith("open")
    alert = _alert(session_factory, wid)
    assert alert.evidence["offensive_share"] == pytest.approx(share, abs=0.02)
    assert alert.guidance["playbook"]["id"] in playbook
