"""A database whose transactions really commit, for tests of concurrent workers.

The shared `session_factory` fixture runs a test inside one connection's
savepoints, so a "second worker" there shares the first one's transaction and a
rollback of one undoes the other. Here each unit of work is its own connection
and transaction, as in production: SQLite is a fresh file made by `make_engine`
(the service's own settings), PostgreSQL (when GROUNDSWELL_TEST_POSTGRES_URL is
set) the test server, emptied again afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from app.db import tables  # noqa: F401  (registers the tables)
from app.db.base import Base
from app.db.migrate import upgrade_head
from app.db.session import make_engine, make_session_factory
from tests.conftest import PG_ENV


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.db'}"
    else:
        url = os.environ.get(PG_ENV, "")
        if not url:
            pytest.skip(f"PostgreSQL tests need {PG_ENV} (CI sets it)")
    engine = make_engine(url)
    try:
        upgrade_head(engine)
        yield make_session_factory(engine)
    finally:
        if request.param != "sqlite":
            with engine.begin() as conn:
                for table in reversed(Base.metadata.sorted_tables):
                    conn.execute(delete(table))
        engine.dispose()
