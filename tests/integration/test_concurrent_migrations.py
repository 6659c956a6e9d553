"""Issue #24 item 7: three instances starting together on a fresh PostgreSQL all
start (they raced on alembic_version: UniqueViolation in ~6 of 10 starts); the
first migrates, the others wait and find the schema current; all three store the
same bootstrap API key without tripping on its unique hash."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import pytest
from sqlalchemy import make_url, text

from app.db.migrate import head_revisions, schema_is_current
from app.db.session import make_engine

PG_ENV = "GROUNDSWELL_TEST_POSTGRES_URL"
INSTANCES = 3
ROUNDS = 2  # a fresh database each round: one lucky interleaving must not pass the test

pytestmark = pytest.mark.postgres


@pytest.fixture
def fresh_database_url():
    """A new, empty database on the test server for each call, dropped afterwards."""
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    made: list[str] = []

    def new() -> str:
        name = f"gs_migrate_race_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        made.append(name)
        return make_url(url).set(database=name).render_as_string(hide_password=False)

    yield new
    with admin.connect() as conn:
        for name in made:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# One instance starting: imports done, it waits for the starting gun (a file), then
# starts the way `groundswell serve` does (migrate_on_start, the bootstrap API key
# stored), with the scheduler off and no model (neither touches the race).
INSTANCE = """
import sys, time
from pathlib import Path
from app.runtime import build_runtime
from app.settings import load_settings
class NoModel:
    name, version = "none", "0"
gun = Path(sys.argv[1])
Path(sys.argv[2]).touch()
while not gun.exists():
    time.sleep(0.005)
build_runtime(load_settings(), classifier=NoModel()).stop()
"""


def test_three_instances_migrating_a_fresh_postgresql_at_once_all_succeed(
    fresh_database_url, tmp_path
) -> None:
    for round_no in range(ROUNDS):
        url = fresh_database_url()
        gun = tmp_path / f"go-{round_no}"
        env = {
            **os.environ,
            "GROUNDSWELL_DATABASE_URL": url,
            "GROUNDSWELL_BOOTSTRAP_API_KEY": "test-key-0123456789abcdef",
            "GROUNDSWELL_SCHEDULER_ENABLED": "false",
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", INSTANCE, str(gun), str(tmp_path / f"ready-{round_no}-{i}")],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for i in range(INSTANCES)
        ]
        deadline = time.monotonic() + 120  # all three imported and waiting at the gun
        while len(list(tmp_path.glob(f"ready-{round_no}-*"))) < INSTANCES:
            assert time.monotonic() < deadline, "instances did not start"
            assert all(p.poll() is None for p in procs), "an instance exited early"
            time.sleep(0.02)
        gun.touch()
        outputs = [p.communicate(timeout=120)[0] for p in procs]
        failed = [
            next((ln for ln in out.splitlines() if "Error" in ln), f"exit {p.returncode}")
            for p, out in zip(procs, outputs, strict=True)
            if p.returncode != 0
        ]
        assert failed == [], f"round {round_no}: {failed}"
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert schema_is_current(conn)
                versions = conn.execute(text("SELECT version_num FROM alembic_version"))
                assert frozenset(versions.scalars()) == head_revisions()
        finally:
            engine.dispose()
