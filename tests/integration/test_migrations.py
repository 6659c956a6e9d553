"""Migrations: the chain matches the models, and goes down and up again.

On its own SQLite file, so the session's shared schema is left alone."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from app.db import tables  # noqa: F401  (registers the tables)
from app.db.base import Base
from app.db.migrate import alembic_config, upgrade_head
from app.db.session import make_engine


def _diff(engine):
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)


def _to(engine, revision):
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_head_matches_the_models_and_survives_down_and_up(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    try:
        upgrade_head(engine)
        assert _diff(engine) == []
        # At head an outbox row may outlive its alert (foreign keys are on).
        now = datetime.now(UTC).isoformat()
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO outbox (id, alert_id, target, event_type, payload, created_at,"
                    " state, next_attempt_at, attempts) VALUES ('msg_1', 'alr_gone', 'webhook',"
                    " 'alert.resolved', '{}', :now, 'pending', :now, 0)"
                ),
                {"now": now},
            )
        _to(engine, "0003")  # the old foreign key is back; the orphan had to go
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0
        upgrade_head(engine)
        assert _diff(engine) == []
        _to(engine, "base")
        upgrade_head(engine)
        assert _diff(engine) == []
    finally:
        engine.dispose()
