"""slack interactions seen

`slack_interactions_seen` remembers each signed Slack interaction handled while
its timestamp is within Slack's 5-minute window, so a replay of the same signed
body is refused across instances and restarts (rows older than the window are
deleted as new ones arrive).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 18:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_interactions_seen",
        sa.Column("signature", sa.String(length=100), nullable=False),
        sa.Column("request_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("signature", name=op.f("pk_slack_interactions_seen")),
    )
    op.create_index(
        op.f("ix_slack_interactions_seen_request_ts"),
        "slack_interactions_seen",
        ["request_ts"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_slack_interactions_seen_request_ts"), table_name="slack_interactions_seen"
    )
    op.drop_table("slack_interactions_seen")
