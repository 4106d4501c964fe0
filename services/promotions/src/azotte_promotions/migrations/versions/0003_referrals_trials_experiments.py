"""Trial eligibility, referral programs and codes, campaigns and experiments.

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
        "trials",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("product_line", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("started_at", TS, nullable=False),
    )
    op.create_table(
        "trial_markers",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("product_line", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, primary_key=True),
        sa.Column("value", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
    )
    op.create_table(
        "referral_programs",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "referral_codes",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("rewarded_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "code", name="referral_codes_code_key"),
    )
    op.create_table(
        "referrals",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("referrer_customer_id", sa.Text, nullable=False),
        sa.Column("referred_customer_id", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("rewards", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("converted_at", TS),
        sa.UniqueConstraint("tenant_id", "referred_customer_id", name="referrals_referred_key"),
    )
    op.create_index("referrals_by_created", "referrals", ["tenant_id", "created_at", "id"])
    op.add_column("promotion_codes", sa.Column("customer_id", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "campaigns",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("promotion_id", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("definition", JSONB, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("campaigns_by_trigger", "campaigns", ["tenant_id", "trigger", "state"])
    op.create_table(
        "campaign_offers",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("campaign_id", sa.Text, nullable=False),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("ordinal", sa.Integer, nullable=False),
        sa.Column("trigger_event_id", sa.Text, nullable=False),
        sa.Column("trigger", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("plan_id", sa.Text, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("channel", sa.Text, nullable=False),
        sa.Column("subscribed_at", TS, nullable=False),
        sa.Column("promotion_id", sa.Text, nullable=False),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.UniqueConstraint("tenant_id", "campaign_id", "trigger_event_id", name="campaign_offers_event_key"),
        sa.UniqueConstraint("tenant_id", "campaign_id", "customer_id", "ordinal", name="campaign_offers_ordinal_key"),
    )
    op.create_index("campaign_offers_by_customer", "campaign_offers", ["tenant_id", "customer_id", "issued_at"])
    op.create_index("campaign_offers_by_issued", "campaign_offers", ["tenant_id", "issued_at", "id"])
    op.create_table(
        "experiments",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("variants", JSONB, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("shipped_variant_id", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "experiment_assignments",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("experiment_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("variant_id", sa.Text, nullable=False),
        sa.Column("assigned_at", TS, nullable=False),
        sa.Column("payments", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("revenue_minor", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("experiment_assignments_by_customer", "experiment_assignments", ["tenant_id", "customer_id"])


def downgrade() -> None:
    op.drop_table("experiment_assignments")
    op.drop_table("experiments")
    op.drop_table("campaign_offers")
    op.drop_table("campaigns")
    op.drop_column("promotion_codes", "customer_id")
    op.drop_table("referrals")
    op.drop_table("referral_codes")
    op.drop_table("referral_programs")
    op.drop_table("trial_markers")
    op.drop_table("trials")
