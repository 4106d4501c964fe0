"""Promotions with their live counts, budgets per currency, customer uses, codes and batches, redemptions.

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
        "promotions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("discount_kind", sa.Text, nullable=False),
        sa.Column("stackable", sa.Boolean, nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("max_redemptions", sa.BigInteger),
        sa.Column("reserved_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("confirmed_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("exhausted_at", TS),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("promotions_by_created", "promotions", ["tenant_id", "created_at", "id"])
    op.create_table(
        "promotion_budgets",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("promotion_id", sa.Text, primary_key=True),
        sa.Column("currency_code", sa.Text, primary_key=True),
        sa.Column("budget_minor", sa.BigInteger),
        sa.Column("reserved_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("confirmed_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("exhausted_at", TS),
    )
    op.create_table(
        "promotion_customer_uses",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("promotion_id", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("held", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "code_batches",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("promotion_id", sa.Text, nullable=False),
        sa.Column("prefix", sa.Text, nullable=False),
        sa.Column("code_count", sa.Integer, nullable=False),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "promotion_codes",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("promotion_id", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("max_redemptions", sa.BigInteger),
        sa.Column("max_per_customer", sa.BigInteger),
        sa.Column("expires_at", TS),
        sa.Column("revoked_at", TS),
        sa.Column("reserved_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("confirmed_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_index("promotion_codes_by_batch", "promotion_codes", ["tenant_id", "batch_id", "code"])
    op.create_index(
        "promotion_codes_shared_by_promotion",
        "promotion_codes",
        ["tenant_id", "promotion_id", "code"],
        postgresql_where=sa.text("batch_id = ''"),
    )
    op.create_table(
        "redemptions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("request_id", sa.Text, nullable=False),
        sa.Column("promotion_id", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("batch_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("product_line", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("gross_minor", sa.BigInteger, nullable=False),
        sa.Column("discount_minor", sa.BigInteger, nullable=False),
        sa.Column("duration", sa.Text, nullable=False),
        sa.Column("duration_periods", sa.Integer, nullable=False),
        sa.Column("extra_trial_days", sa.Integer, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("charge_id", sa.Text, nullable=False),
        sa.Column("release_reason", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("confirmed_at", TS),
        sa.Column("released_at", TS),
        sa.UniqueConstraint("tenant_id", "request_id", name="redemptions_request_id_key"),
    )
    op.create_index(
        "redemptions_reserved_by_expiry", "redemptions", ["expires_at"], postgresql_where=sa.text("state = 'reserved'")
    )
    op.create_index("redemptions_by_promotion", "redemptions", ["tenant_id", "promotion_id", "created_at"])


def downgrade() -> None:
    for table in (
        "redemptions",
        "promotion_codes",
        "code_batches",
        "promotion_customer_uses",
        "promotion_budgets",
        "promotions",
    ):
        op.drop_table(table)
