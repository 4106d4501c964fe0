"""Tenants' webhook endpoints, their messages and delivery attempts.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "webhook_endpoints",
        sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("endpoint_id", sa.Text, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("event_types", sa.ARRAY(sa.Text), nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("previous_secret", sa.Text),
        sa.Column("previous_secret_expire_time", sa.DateTime(timezone=True)),
        sa.Column("sandbox", sa.Boolean, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.Text),
        sa.Column("disable_time", sa.DateTime(timezone=True)),
        sa.Column("failing_since", sa.DateTime(timezone=True)),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "webhook_messages",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("endpoint_id", sa.Text, nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("attempt_count", sa.Integer, nullable=False),
        sa.Column("round_attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["tenant_id", "endpoint_id"],
            ["webhook_endpoints.tenant_id", "webhook_endpoints.endpoint_id"],
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "webhook_messages_due", "webhook_messages", ["next_attempt_time"], postgresql_where=sa.text("state = 'pending'")
    )
    op.create_index("webhook_messages_by_time", "webhook_messages", ["tenant_id", "create_time", "message_id"])
    op.create_index("webhook_messages_by_endpoint", "webhook_messages", ["tenant_id", "endpoint_id", "create_time"])
    op.create_table(
        "webhook_attempts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("message_id", sa.Text, primary_key=True),
        sa.Column("attempt_number", sa.Integer, primary_key=True),
        sa.Column("endpoint_id", sa.Text, nullable=False),
        sa.Column("attempt_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("duration_ms", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("response_excerpt", sa.Text, nullable=False),
        sa.Column("next_attempt_time", sa.DateTime(timezone=True)),
        sa.ForeignKeyConstraint(
            ["tenant_id", "message_id"],
            ["webhook_messages.tenant_id", "webhook_messages.message_id"],
            ondelete="CASCADE",
        ),
    )


def downgrade() -> None:
    op.drop_table("webhook_attempts")
    op.drop_table("webhook_messages")
    op.drop_table("webhook_endpoints")
