"""Issue #24 item 5: a misspelt setting is not silently ignored.

At start each unknown GROUNDSWELL_* variable is logged as a WARNING with the
closest real setting; GROUNDSWELL_STRICT_SETTINGS=true refuses to start instead
(one line, exit 2, before the database is touched)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.cli import main


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GROUNDSWELL_"):
            monkeypatch.delenv(name)


def _db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "gs.db"
    monkeypatch.setenv("GROUNDSWELL_DATABASE_URL", f"sqlite:///{path}")
    return path


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if " WARNING " in line]


def test_a_misspelt_setting_is_logged_with_the_closest_real_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _db(monkeypatch, tmp_path)
    monkeypatch.setenv("GROUNDSWELL_DETECT_INTERVAL_SECOND", "5")
    monkeypatch.setenv("GROUNDSWELL_SLACK_BOT_TOKN", "xoxb-not-a-token")
    monkeypatch.setenv("GROUNDSWELL_LOG_LEVEL", "INFO")  # a real one: not named
    assert main(["migrate"]) == 0
    warnings = _warnings(capsys.readouterr().err)
    assert len(warnings) == 2, warnings
    joined = "\n".join(warnings)
    assert "GROUNDSWELL_DETECT_INTERVAL_SECOND:" in joined
    assert "GROUNDSWELL_DETECT_INTERVAL_SECONDS" in joined
    assert "GROUNDSWELL_SLACK_BOT_TOKN:" in joined and "GROUNDSWELL_SLACK_BOT_TOKEN" in joined
    assert "xoxb-not-a-token" not in joined  # names only, never values
    assert "GROUNDSWELL_LOG_LEVEL" not in joined


def test_a_variable_like_no_setting_is_still_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _db(monkeypatch, tmp_path)
    monkeypatch.setenv("GROUNDSWELL_FROBNICATE", "1")
    assert main(["migrate"]) == 0
    (warning,) = _warnings(capsys.readouterr().err)
    assert "GROUNDSWELL_FROBNICATE" in warning


def test_strict_settings_refuse_to_start_with_an_unknown_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(monkeypatch, tmp_path)
    monkeypatch.setenv("GROUNDSWELL_STRICT_SETTINGS", "true")
    monkeypatch.setenv("GROUNDSWELL_POLL_INTERVAL_SECS", "30")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("groundswell: GROUNDSWELL_POLL_INTERVAL_SECS: "), err
    assert "GROUNDSWELL_POLL_INTERVAL_SECONDS" in err[0]
    assert not db.exists()  # refused before the database was touched


def test_strict_settings_start_when_every_variable_is_known(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(monkeypatch, tmp_path)
    monkeypatch.setenv("GROUNDSWELL_STRICT_SETTINGS", "true")
    monkeypatch.setenv("GROUNDSWELL_POLL_INTERVAL_SECONDS", "30")
    assert main(["migrate"]) == 0
    assert _warnings(capsys.readouterr().err) == []
    assert db.exists()
