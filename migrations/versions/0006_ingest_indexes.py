"""ingest indexes

A partial index on a watch's own posts: every ingest reads the watch's own posts
of the last 30 days for the parody check, and through (watch_id, created_at) that
read scanned the whole month of the watch (~600 ms at 356k posts).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_posts_watch_own_created",
        "posts",
        ["watch_id", "created_at"],
        unique=False,
        sqlite_where=sa.text("is_own = 1"),
        postgresql_where=sa.text("is_own"),
    )


def downgrade() -> None:
    op.drop_index("ix_posts_watch_own_created", table_name="posts")
