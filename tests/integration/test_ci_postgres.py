"""The PostgreSQL server that CI starts (scripts/ci_postgres.sh) is reachable.

Skips when GROUNDSWELL_TEST_POSTGRES_URL is unset; `.ci/run` always sets it, so in CI this
test proves the throwaway server is up before the other `postgres` tests rely on it.
"""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

pytestmark = pytest.mark.postgres

URL_VAR = "GROUNDSWELL_TEST_POSTGRES_URL"


def test_postgres_server_answers_select_1() -> None:
    url = os.environ.get(URL_VAR)
    if not url:
        pytest.skip(
            f"{URL_VAR} is not set: start a server with "
            '`bash scripts/ci_postgres.sh start "$(mktemp -d)"` or run `bash .ci/run`'
        )
    engine = create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with engine.connect() as conn:
            assert conn.execute(text("select 1")).scalar_one() == 1
            assert conn.dialect.name == "postgresql"
    finally:
        engine.dispose()
