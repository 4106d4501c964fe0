"""Storefronts, features, plans, price versions and channel product mappings.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "storefronts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("country", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("locales", JSONB, nullable=False),
        sa.Column("channels", JSONB, nullable=False),
        sa.Column("tax_mode", sa.Text, nullable=False),
        sa.Column("tax_rate", sa.Text, nullable=False),
        sa.Column("payment_routing", JSONB, nullable=False),
        *_times(),
    )
    op.create_table(
        "features",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("unit", sa.Text),
        sa.Column("reset_period", sa.Text),
        *_times(),
    )
    op.create_table(
        "plans",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("family", sa.Text, nullable=False),
        sa.Column("rank", sa.Integer, nullable=False),
        sa.Column("interval_unit", sa.Text, nullable=False),
        sa.Column("interval_count", sa.Integer, nullable=False),
        sa.Column("trial_days", sa.Integer, nullable=False),
        sa.Column("grants", JSONB, nullable=False),
        sa.Column("is_add_on", sa.Boolean, nullable=False),
        sa.Column("add_on_ids", JSONB, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        *_times(),
    )
    op.create_table(
        "prices",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("existing_subscribers", sa.Text, nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("tenant_id", "plan_id", "storefront_id", "channel", "effective_from"),
        sa.CheckConstraint("amount_minor >= 0", name="prices_amount_not_negative"),
    )
    op.create_index(
        "prices_pending_activation", "prices", ["effective_from"], postgresql_where=sa.text("activated_at IS NULL")
    )
    op.create_table(
        "channel_mappings",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("channel", sa.Text, primary_key=True),
        sa.Column("external_product_id", sa.Text, primary_key=True),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text),
        *_times(),
    )


def downgrade() -> None:
    for table in ("channel_mappings", "prices", "plans", "features", "storefronts"):
        op.drop_table(table)
