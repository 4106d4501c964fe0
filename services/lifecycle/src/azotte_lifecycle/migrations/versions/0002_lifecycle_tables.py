"""Customers and identities, subscriptions with their due work, history, policies, channel events.

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
        "customers",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("external_id", sa.Text, nullable=False),
        sa.Column("email", sa.Text, nullable=False),
        sa.Column("country_code", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "external_id", name="customers_external_id_key"),
    )
    op.create_table(
        "customer_identities",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "issuer", "value", name="customer_identities_pkey"),
    )
    op.create_index("customer_identities_by_customer", "customer_identities", ["tenant_id", "customer_id"])
    op.create_table(
        "subscriptions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("billing_origin", sa.Text, nullable=False),
        sa.Column("current_period_end", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("next_due_at", TS),
        sa.Column("due_kind", sa.Text),
        sa.Column("aggregate", JSONB, nullable=False),
    )
    op.create_index("subscriptions_by_customer", "subscriptions", ["tenant_id", "customer_id", "id"])
    op.create_index(
        "subscriptions_due", "subscriptions", ["next_due_at"], postgresql_where=sa.text("next_due_at IS NOT NULL")
    )
    op.create_table(
        "subscription_identities",
        sa.Column("tenant_id", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("issuer", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "issuer", "value", name="subscription_identities_pkey"),
    )
    op.create_table(
        "subscription_history",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("event_type", sa.Text, nullable=False),
        sa.Column("from_state", sa.Text),
        sa.Column("to_state", sa.Text, nullable=False),
        sa.Column("cause", sa.Text, nullable=False),
        sa.Column("cause_ref", sa.Text, nullable=False),
    )
    op.create_table(
        "lifecycle_policies",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("policy", JSONB, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "applied_channel_events",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("applied_at", TS, nullable=False),
    )


def downgrade() -> None:
    # No foreign keys between these tables: reverse creation order; indexes go with their tables.
    for table in (
        "applied_channel_events",
        "lifecycle_policies",
        "subscription_history",
        "subscription_identities",
        "subscriptions",
        "customer_identities",
        "customers",
    ):
        op.drop_table(table)
