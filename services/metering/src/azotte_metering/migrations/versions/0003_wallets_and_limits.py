"""Wallets, credit grants, usage prices, limits and the thresholds crossed.

Also each customer's usage account (plan, storefront, period), the usage accrued per period with what it
rated to, adjustments for late usage of closed periods, wallet movements and auto-recharges.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_prices",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("storefront_id", sa.Text, primary_key=True),
        sa.Column("plan_id", sa.Text, primary_key=True),
        sa.Column("meter_key", sa.Text, primary_key=True),
        sa.Column("dimensions_key", sa.Text, primary_key=True),
        sa.Column("dimensions", JSONB, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("model", sa.Text, nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "usage_accounts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "usage_period_totals",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("period_start", TS, primary_key=True),
        sa.Column("meter_key", sa.Text, primary_key=True),
        sa.Column("dimensions_key", sa.Text, primary_key=True),
        sa.Column("dimensions", JSONB, nullable=False),
        sa.Column("quantity", sa.Numeric, nullable=False),
        sa.Column("event_count", sa.BigInteger, nullable=False),
        sa.Column("latest_time", TS, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("rated_minor", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "usage_periods",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("period_start", TS, primary_key=True),
        sa.Column("period_end", TS, nullable=False),
        sa.Column("credited_minor", sa.BigInteger, nullable=False),
        sa.Column("closed_at", TS),
    )
    op.create_table(
        "usage_adjustments",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("adjustment_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("usage_time", TS, nullable=False),
        sa.Column("meter_key", sa.Text, nullable=False),
        sa.Column("dimensions", JSONB, nullable=False),
        sa.Column("quantity", sa.Numeric, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("usage_adjustments_by_period", "usage_adjustments", ["tenant_id", "customer_id", "period_start"])
    op.create_table(
        "wallets",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("currency_code", sa.Text, primary_key=True),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("recharge_threshold_minor", sa.BigInteger),
        sa.Column("recharge_amount_minor", sa.BigInteger),
        sa.Column("recharges", sa.Integer, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "credit_grants",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("grant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("remaining_minor", sa.BigInteger, nullable=False),
        sa.Column("priority", sa.Integer, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("granted_at", TS, nullable=False),
        sa.Column("expires_at", TS),
    )
    op.create_index("credit_grants_by_wallet", "credit_grants", ["tenant_id", "customer_id", "currency_code"])
    op.create_table(
        "wallet_movements",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("grant_id", sa.Text, nullable=False),
        sa.Column("reference", sa.Text, nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger, nullable=False),
        sa.Column("at", TS, nullable=False),
    )
    op.create_index(
        "wallet_movements_by_wallet", "wallet_movements", ["tenant_id", "customer_id", "currency_code", "seq"]
    )
    op.create_table(
        "wallet_recharges",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("recharge_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("charge_id", sa.Text, nullable=False),
        sa.Column("failure", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("wallet_recharges_pending", "wallet_recharges", ["state", "created_at"])
    op.create_table(
        "usage_limits",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("limit_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("feature_key", sa.Text, nullable=False),
        sa.Column("measure", sa.Text, nullable=False),
        sa.Column("value", sa.Numeric, nullable=False),
        sa.Column("policy", sa.Text, nullable=False),
        sa.Column("meter_key", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("alert_percents", JSONB, nullable=False),
        sa.Column("period_key", sa.Text, nullable=False),
        sa.Column("alerted", JSONB, nullable=False),
        sa.Column("cut_off", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("usage_limits_by_customer", "usage_limits", ["tenant_id", "customer_id"])


def downgrade() -> None:
    op.drop_table("usage_limits")
    op.drop_table("wallet_recharges")
    op.drop_table("wallet_movements")
    op.drop_table("credit_grants")
    op.drop_table("wallets")
    op.drop_table("usage_adjustments")
    op.drop_table("usage_periods")
    op.drop_table("usage_period_totals")
    op.drop_table("usage_accounts")
    op.drop_table("usage_prices")
