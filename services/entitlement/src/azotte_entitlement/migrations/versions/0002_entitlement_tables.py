"""Grants, denial reasons, subscription snapshots, groups, invites, suspensions and usage.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "grants",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("grant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("feature_key", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("source_ref", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS),
        sa.Column("limit_value", sa.BigInteger),
        sa.Column("audit_actor", sa.Text),
        sa.Column("audit_time", TS),
        sa.Column("audit_reason", sa.Text),
        sa.UniqueConstraint("tenant_id", "customer_id", "feature_key", "source", "source_ref", name="grants_identity"),
    )
    op.create_index("grants_by_source", "grants", ["tenant_id", "source", "source_ref"])
    op.create_table(
        "denials",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("feature_key", sa.Text, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("cancel_at_period_end", sa.Boolean, nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("current_period_end", TS, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("features", JSONB, nullable=False),
        sa.Column("event_time", TS, nullable=False),
    )
    op.create_table(
        "groups",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("group_id", sa.Text, primary_key=True),
        sa.Column("owner_customer_id", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.UniqueConstraint("tenant_id", "subscription_id", name="groups_subscription"),
    )
    op.create_table(
        "group_members",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("group_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("joined_at", TS, nullable=False),
        sa.Column("invite_code", sa.Text),
    )
    op.create_table(
        "group_invites",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("group_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("accepted_by", sa.Text),
    )
    op.create_table(
        "suspensions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("feature_key", sa.Text, primary_key=True),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("suspended_at", TS, nullable=False),
    )
    op.create_table(
        "usage",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("feature_key", sa.Text, primary_key=True),
        sa.Column("used", sa.BigInteger, nullable=False),
        sa.Column("period_start", TS, nullable=False),
    )


def downgrade() -> None:
    for table in ("usage", "suspensions", "group_invites", "group_members", "groups", "subscriptions", "denials"):
        op.drop_table(table)
    op.drop_index("grants_by_source", "grants")
    op.drop_table("grants")
