"""Start-up and readiness: a user's mistake is one line naming the variable (exit 2),
and /readyz is not fooled by an unmigrated database or failing jobs."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.cli import build_parser, main
from app.db.migrate import upgrade_head
from app.db.session import make_engine, make_session_factory
from app.jobs.scheduler import DELIVER, Jobs
from app.runtime import Runtime, open_database
from app.settings import ConfigError
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier

KEY = "test-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("GROUNDSWELL_"):
            monkeypatch.delenv(name)


def _runtime(url: str, jobs: Jobs | None = None) -> Runtime:
    engine = make_engine(url)
    return Runtime(
        settings=make_settings(database_url=url, bootstrap_api_key=KEY),
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=None,  # type: ignore[arg-type] - not reached by these requests
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=None,  # type: ignore[arg-type]
        jobs=jobs,
    )


def test_readyz_refuses_a_database_without_the_schema(tmp_path: Path) -> None:
    runtime = _runtime(f"sqlite:///{tmp_path / 'empty.db'}")
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"] == (
        "error: schema not migrated (run groundswell migrate)"
    )
    upgrade_head(runtime.engine)
    assert runtime.database_status() == "ok"


def test_scheduler_check_reports_a_job_that_keeps_failing(tmp_path: Path) -> None:
    healthy = {"now": False}

    def deliver() -> None:
        if not healthy["now"]:
            raise RuntimeError("no such table: outbox")

    jobs = Jobs()
    jobs.add(DELIVER, deliver, 0.05)
    runtime = _runtime(f"sqlite:///{tmp_path / 'x.db'}", jobs)
    jobs.start()
    try:
        deadline = time.monotonic() + 10
        while not jobs.failing() and time.monotonic() < deadline:
            time.sleep(0.02)
        status = runtime.scheduler_status()
        assert status.startswith("error: job deliver failing since ")
        assert status.endswith(": RuntimeError")
        healthy["now"] = True
        while jobs.failing() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert runtime.scheduler_status() == "ok"
    finally:
        jobs.shutdown()


def test_api_says_database_unavailable_as_json_503() -> None:
    runtime = _runtime("sqlite:////nonexistent/dir/x.db")
    with TestClient(create_app(runtime, manage_runtime=False)) as client:
        r = client.get("/api/v1/watches", headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 503
    assert r.json() == {"detail": "database unavailable", "errors": []}


def test_unmigrated_database_is_refused_when_not_migrating(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(ConfigError, match="schema not migrated"):
        open_database(make_settings(database_url=url), migrate=False)
    open_database(make_settings(database_url=url), migrate=True).dispose()
    open_database(make_settings(database_url=url), migrate=False).dispose()


def test_unreachable_postgres_is_one_line_without_the_password() -> None:
    url = "postgresql://user:hunter2-secret@127.0.0.1:1/db"
    with pytest.raises(ConfigError) as info:
        open_database(make_settings(database_url=url), migrate=True)
    assert info.value.variable == "GROUNDSWELL_DATABASE_URL"
    assert "cannot connect to" in str(info.value) and "hunter2" not in str(info.value)


def test_serve_with_a_missing_model_names_the_variable_before_touching_the_db(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("GROUNDSWELL_MODEL_DIR", str(tmp_path / "nonexistent"))
    monkeypatch.setenv("GROUNDSWELL_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    monkeypatch.setenv("GROUNDSWELL_BOOTSTRAP_API_KEY", KEY)
    assert main(["serve", "--port", str(_free_port())]) == 2
    assert capsys.readouterr().err.startswith("groundswell: GROUNDSWELL_MODEL_DIR: ")
    assert not (tmp_path / "g.db").exists()


def test_migrate_into_a_missing_directory_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("GROUNDSWELL_DATABASE_URL", "sqlite:////nonexistent/dir/x.db")
    assert main(["migrate"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("groundswell: GROUNDSWELL_DATABASE_URL: cannot connect to ")
    assert err.count("\n") == 1


def test_serve_refuses_a_taken_port_before_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setenv("GROUNDSWELL_DATABASE_URL", f"sqlite:///{tmp_path / 'g.db'}")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as info:
            main(["serve", "--port", str(port)])
    assert info.value.code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert not (tmp_path / "g.db").exists()


@pytest.mark.parametrize("args", [["serve", "--port", "99999"], ["create-api-key", "  "]])
def test_bad_arguments_are_usage_errors(args: list[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2


def test_help_names_every_command() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:  # type: ignore[union-attr]
        assert name in (parser.description or ""), name


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
