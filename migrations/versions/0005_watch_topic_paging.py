"""watch topic and paging

Watches get `topic` (what the holding statement names; empty means the watch's
name), `page_min_severity` (alerts below it do not page; existing watches get
the default, `warning`) and `quiet_slack_channel` (where alerts below it go).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 17:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.add_column(sa.Column("topic", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column(
                "page_min_severity",
                sa.String(length=10),
                nullable=False,
                server_default="warning",
            )
        )
        batch_op.add_column(sa.Column("quiet_slack_channel", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watches", schema=None) as batch_op:
        batch_op.drop_column("quiet_slack_channel")
        batch_op.drop_column("page_min_severity")
        batch_op.drop_column("topic")
