"""Shared fixtures: databases (SQLite always, PostgreSQL when configured), clocks, settings.

The schema is built by Alembic `upgrade head` once per database per session; each
test runs inside a connection-level transaction that is rolled back at the end
(the session joins it with savepoints)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from app.clock import FrozenClock
from app.db.migrate import upgrade_head
from app.db.session import make_engine
from app.settings import Settings

PG_ENV = "GROUNDSWELL_TEST_POSTGRES_URL"
# Near the real time: webhook receivers reject signatures older than 5 minutes.
NOW = datetime.now(UTC).replace(microsecond=0)


def make_settings(**overrides: object) -> Settings:
    base: dict[str, object] = {
        "database_url": "sqlite://",
        "bootstrap_api_key": "test-key-0123456789abcdef",
        "scheduler_enabled": False,
        "migrate_on_start": False,
        "allow_private_targets": True,
    }
    base.update(overrides)
    return Settings(**base)  # type: ignore[arg-type]


def _savepoint_friendly(engine: Engine) -> None:
    """pysqlite needs explicit BEGINs for SAVEPOINT to work (SQLAlchemy's recipe)."""

    @event.listens_for(engine, "connect")
    def _no_implicit(dbapi_conn: object, _rec: object) -> None:
        dbapi_conn.isolation_level = None  # type: ignore[attr-defined]

    @event.listens_for(engine, "begin")
    def _begin(conn: object) -> None:
        conn.exec_driver_sql("BEGIN")  # type: ignore[attr-defined]


@pytest.fixture(
    scope="session",
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def db_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        engine = make_engine(url)
        _savepoint_friendly(engine)
    else:
        url = os.environ.get(PG_ENV)
        if not url:
            pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_head(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(db_engine: Engine) -> Iterator[sessionmaker[Session]]:
    conn = db_engine.connect()
    outer = conn.begin()
    factory = sessionmaker(
        bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    yield factory
    outer.rollback()
    conn.close()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)
