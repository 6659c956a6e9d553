"""Apply Alembic migrations programmatically (`groundswell migrate`, and on serve)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def alembic_config(database_url: str) -> Config:
    cfg = Config(str(PROJECT_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logger"] = False
    return cfg


# pg_advisory_xact_lock key for migrations: any constant bigint the service uses for
# nothing else ("gs-migr" in ASCII).
MIGRATION_LOCK_KEY = 0x67732D6D69677200


def upgrade_head(engine: Engine) -> None:
    """Bring the database to the newest schema (an empty SQLite file just works).

    On PostgreSQL the migration runs under a transaction-scoped advisory lock, so
    instances started together take turns: the first migrates, the others wait for
    its commit and then find the schema current (without the lock, two of three
    creating alembic_version at once failed with a UniqueViolation).  SQLite is the
    one-machine default and takes no lock here."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def downgrade_base(engine: Engine) -> None:
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")


@cache
def head_revisions() -> frozenset[str]:
    """The revisions this code expects (read once from migrations/)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())


def schema_is_current(conn: Connection) -> bool:
    """True when the database's Alembic revision is this code's head.  Reads
    alembic_version directly: MigrationContext logs two INFO lines per call,
    and /readyz calls this often."""
    if not inspect(conn).has_table("alembic_version"):
        return False
    current = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
    return frozenset(current) == head_revisions()
