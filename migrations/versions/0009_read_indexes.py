"""read indexes

Indexes for the reads that grow with history (issue #22): the posts list is newest
first by id, filtered by label, and through (watch_id, created_at) every page
sorted the whole watch (~560 ms at 2M posts on SQLite); the alert list is newest
first on (opened_at, id), filtered by watch or state.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = {
    "ix_posts_watch_irony_id": ("irony IS 1", "irony IS TRUE"),
    "ix_posts_watch_offensive_id": ("offensive IS 1", "offensive IS TRUE"),
    "ix_posts_watch_own_id": ("is_own = 1", "is_own"),
}
ALERTS = {
    "ix_alerts_opened": ["opened_at", "id"],
    "ix_alerts_watch_opened": ["watch_id", "opened_at", "id"],
    "ix_alerts_state_opened": ["state", "opened_at", "id"],
}


def upgrade() -> None:
    op.create_index("ix_posts_watch_id", "posts", ["watch_id", "id"])
    op.create_index("ix_posts_watch_sentiment_id", "posts", ["watch_id", "sentiment", "id"])
    for name, (sqlite_where, pg_where) in PARTIAL.items():
        op.create_index(
            name,
            "posts",
            ["watch_id", "id"],
            sqlite_where=sa.text(sqlite_where),
            postgresql_where=sa.text(pg_where),
        )
    for name, columns in ALERTS.items():
        op.create_index(name, "alerts", columns)


def downgrade() -> None:
    for name in ALERTS:
        op.drop_index(name, table_name="alerts")
    for name in PARTIAL:
        op.drop_index(name, table_name="posts")
    op.drop_index("ix_posts_watch_sentiment_id", table_name="posts")
    op.drop_index("ix_posts_watch_id", table_name="posts")
