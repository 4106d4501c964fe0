"""The notification inbox: every verified channel notification once, its raw body, its state and retries.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0010"
down_revision = "0009"
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channel_notifications",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("notification_id", sa.Text, primary_key=True),
        sa.Column("app_id", sa.Text, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("headers", JSONB, nullable=False),
        sa.Column("event_time", _TS, nullable=False),
        sa.Column("receive_time", _TS, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("next_attempt_time", _TS),
        sa.Column("settle_time", _TS),
        sa.Column("applied", JSONB, nullable=False),
    )
    op.create_index(
        "channel_notifications_due",
        "channel_notifications",
        ["next_attempt_time"],
        postgresql_where=sa.text("state IN ('received', 'failed')"),
    )
    op.create_index(
        "channel_notifications_by_time",
        "channel_notifications",
        ["tenant_id", "event_time", "channel", "notification_id"],
    )


def downgrade() -> None:
    op.drop_table("channel_notifications")
