"""The service's own commands: migrate and create-api-key, as a newcomer runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import inspect

from app.db.repos import api_keys
from app.db.session import make_engine, make_session_factory, unit_of_work

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env["GROUNDSWELL_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_migrate_builds_an_empty_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    out = _run(["migrate"], url)
    assert out.returncode == 0, out.stderr
    tables = set(inspect(make_engine(url)).get_table_names())
    assert {"watches", "posts", "alerts", "outbox", "poll_cursors"} <= tables


def test_created_api_key_is_printed_once_and_stored_hashed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    out = _run(["create-api-key", "ci-bot"], url)
    assert out.returncode == 0, out.stderr
    key = out.stdout.strip().splitlines()[-1]
    assert len(key) >= 32 and key not in out.stderr
    engine = make_engine(url)
    with unit_of_work(make_session_factory(engine)) as s:
        assert api_keys.is_valid(s, key)
        assert not api_keys.is_valid(s, key + "x")
    raw = (tmp_path / "keys.db").read_bytes()
    assert key.encode() not in raw


def test_bad_settings_are_refused_with_the_variable_name(tmp_path: Path) -> None:
    env_url = f"sqlite:///{tmp_path / 'x.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROUNDSWELL_")}
    env.update(
        {
            "GROUNDSWELL_DATABASE_URL": env_url,
            "GROUNDSWELL_BOOTSTRAP_API_KEY": "change-me-placeholder-key",
        }
    )
    out = subprocess.run(
        [sys.executable, "-m", "app", "migrate"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert "GROUNDSWELL_BOOTSTRAP_API_KEY" in out.stderr and "placeholder" in out.stderr
