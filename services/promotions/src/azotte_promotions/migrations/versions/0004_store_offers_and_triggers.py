"""Store offers and the trial-ending, trial-extension and usage-threshold campaign triggers; what a repeating or
forever redemption takes off each renewal.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0004"
down_revision = "0003"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "redemptions", sa.Column("renewal_percent_basis_points", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "redemptions", sa.Column("renewal_amount_off_minor", sa.BigInteger, nullable=False, server_default="0")
    )
    op.add_column("campaign_offers", sa.Column("trial_extension_days", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "trial_endings",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("subscribed_at", TS, nullable=False),
        sa.Column("trial_end", TS, nullable=False),
        sa.Column("judged_campaign_ids", ARRAY(sa.Text), nullable=False, server_default="{}"),
    )
    op.create_index("trial_endings_by_end", "trial_endings", ["trial_end"])
    op.create_table(
        "app_store_subscription_keys",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("key_id", sa.Text, nullable=False),
        sa.Column("bundle_id", sa.Text, nullable=False),
        sa.Column("private_key_pem", sa.Text, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_store_subscription_keys")
    op.drop_table("trial_endings")
    op.drop_column("campaign_offers", "trial_extension_days")
    op.drop_column("redemptions", "renewal_amount_off_minor")
    op.drop_column("redemptions", "renewal_percent_basis_points")
