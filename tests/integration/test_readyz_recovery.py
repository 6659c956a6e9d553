"""/readyz reflects the current state: a job that failed because the database was
down stops counting once the database answers again (not at the job's next success,
which for the prune job is hours away); a job failing for another reason still counts."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.db.migrate import upgrade_head
from app.db.session import make_engine, make_session_factory
from app.jobs.scheduler import DETECT_ALL, PRUNE, Jobs
from app.runtime import Runtime
from app.web import create_app
from tests.conftest import make_settings
from tests.fakes.classifier import KeywordClassifier

HOURS = 6 * 3600.0  # the prune job's interval: it will not run again in this test


def _runtime(url: str, jobs: Jobs) -> Runtime:
    engine = make_engine(url)
    return Runtime(
        settings=make_settings(database_url=url),
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=None,  # type: ignore[arg-type] - not reached by these requests
        classifier=KeywordClassifier(),
        slack=None,
        webhooks=None,  # type: ignore[arg-type]
        jobs=jobs,
    )


def _wait(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert condition()


def test_readyz_is_ready_again_when_the_database_comes_back(tmp_path: Path) -> None:
    home = tmp_path / "db"  # missing: the database cannot be opened yet
    jobs = Jobs()
    runtime = _runtime(f"sqlite:///{home / 'gs.db'}", jobs)

    def prune() -> None:  # what the real job does first: talk to the database
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    jobs.add(PRUNE, prune, HOURS)
    jobs.start()
    try:
        _wait(lambda: PRUNE in jobs.failing())
        with TestClient(create_app(runtime, manage_runtime=False)) as client:
            down = client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["checks"]["database"] == "error: OperationalError"
            assert down.json()["checks"]["scheduler"].startswith("error: job prune failing")

            home.mkdir()  # the database is back
            upgrade_head(runtime.engine)
            up = client.get("/readyz")
        assert up.status_code == 200, up.json()
        assert up.json()["checks"] == {
            "database": "ok",
            "model": up.json()["checks"]["model"],
            "scheduler": "ok",
        }
    finally:
        jobs.shutdown()
        runtime.engine.dispose()


def test_a_job_failing_for_another_reason_still_counts(tmp_path: Path) -> None:
    jobs = Jobs()
    runtime = _runtime(f"sqlite:///{tmp_path / 'gs.db'}", jobs)
    upgrade_head(runtime.engine)

    def detect() -> None:
        raise ValueError("a bug, not the database")

    jobs.add(DETECT_ALL, detect, HOURS)
    jobs.start()
    try:
        _wait(lambda: DETECT_ALL in jobs.failing())
        with TestClient(create_app(runtime, manage_runtime=False)) as client:
            r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["database"] == "ok"
        assert r.json()["checks"]["scheduler"].startswith("error: job detect_all failing since")
        assert r.json()["checks"]["scheduler"].endswith(": ValueError")
    finally:
        jobs.shutdown()
        runtime.engine.dispose()
