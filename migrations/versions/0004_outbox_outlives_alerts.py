"""outbox outlives alerts

Outbox messages and Slack message refs no longer reference alerts by foreign key
(they were ON DELETE CASCADE). Deleting a watch deletes its alerts, and the
cascade took their pending notices with it, including the alert.resolved that
deleting the watch now sends. Without the key, a message outlives its alert; the
columns and their indexes stay.

Downgrade puts the keys back, and first drops the rows whose alert is gone
(the key could not be created over them).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 03:09:51.816659
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_outbox_alert_id_alerts"), type_="foreignkey")

    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_slack_messages_alert_id_alerts"), type_="foreignkey"
        )


def downgrade() -> None:
    for table in ("slack_messages", "outbox"):
        op.execute(f"DELETE FROM {table} WHERE alert_id NOT IN (SELECT id FROM alerts)")

    with op.batch_alter_table("slack_messages", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_slack_messages_alert_id_alerts"),
            "alerts",
            ["alert_id"],
            ["id"],
            ondelete="CASCADE",
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_outbox_alert_id_alerts"),
            "alerts",
            ["alert_id"],
            ["id"],
            ondelete="CASCADE",
        )
