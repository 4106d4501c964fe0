"""SQLAlchemy Core tables of the promotions database (tenant in every key, money in minor units).

The counts limits are checked against live in columns, so that conditional UPDATEs can check and move
them in one statement: `promotions.reserved_count/confirmed_count`, `promotion_codes.*_count`,
`promotion_budgets.*_minor` per currency, and `promotion_customer_uses.held` per customer.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)

promotions = sa.Table(
    "promotions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("discount_kind", sa.Text, nullable=False),
    sa.Column("stackable", sa.Boolean, nullable=False),
    sa.Column("automatic", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("max_redemptions", sa.BigInteger),
    sa.Column("reserved_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("confirmed_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("exhausted_at", _TS),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("promotions_by_created", "tenant_id", "created_at", "id"),
    sa.Index(
        "promotions_automatic_active",
        "tenant_id",
        "created_at",
        "id",
        postgresql_where=sa.text("automatic AND state = 'active'"),
    ),
)

promotion_budgets = sa.Table(
    "promotion_budgets",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("promotion_id", sa.Text, primary_key=True),
    sa.Column("currency_code", sa.Text, primary_key=True),
    sa.Column("budget_minor", sa.BigInteger),
    sa.Column("reserved_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("confirmed_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("exhausted_at", _TS),
)

promotion_customer_uses = sa.Table(
    "promotion_customer_uses",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("promotion_id", sa.Text, primary_key=True),
    # NOTE: '' counts the customer's uses of the promotion, a code its uses of that code.
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("held", sa.BigInteger, nullable=False),
)

code_batches = sa.Table(
    "code_batches",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("promotion_id", sa.Text, nullable=False),
    sa.Column("prefix", sa.Text, nullable=False),
    sa.Column("code_count", sa.Integer, nullable=False),
    sa.Column("expires_at", _TS),
    sa.Column("revoked_at", _TS),
    sa.Column("created_at", _TS, nullable=False),
)

promotion_codes = sa.Table(
    "promotion_codes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    # NOTE: normalized (upper case, no hyphens or spaces): a lookup is an equality on the key.
    sa.Column("code", sa.Text, primary_key=True),
    sa.Column("promotion_id", sa.Text, nullable=False),
    sa.Column("batch_id", sa.Text, nullable=False),
    sa.Column("max_redemptions", sa.BigInteger),
    sa.Column("max_per_customer", sa.BigInteger),
    sa.Column("expires_at", _TS),
    sa.Column("revoked_at", _TS),
    sa.Column("reserved_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("confirmed_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", _TS, nullable=False),
    # NOTE: '' for anyone; a personal code (a campaign's retention offer) is only its customer's.
    sa.Column("customer_id", sa.Text, nullable=False, server_default=""),
    sa.Index("promotion_codes_by_batch", "tenant_id", "batch_id", "code"),
    # NOTE: shared codes only: a batch's 100,000 codes do not pay for an index they are never listed by.
    sa.Index(
        "promotion_codes_shared_by_promotion",
        "tenant_id",
        "promotion_id",
        "code",
        postgresql_where=sa.text("batch_id = ''"),
    ),
)

redemptions = sa.Table(
    "redemptions",
    metadata,
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
    sa.Column("renewal_percent_basis_points", sa.Integer, nullable=False, server_default="0"),
    sa.Column("renewal_amount_off_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("charge_id", sa.Text, nullable=False),
    sa.Column("release_reason", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("confirmed_at", _TS),
    sa.Column("released_at", _TS),
    sa.UniqueConstraint("tenant_id", "request_id", name="redemptions_request_id_key"),
    sa.Index("redemptions_reserved_by_expiry", "expires_at", postgresql_where=sa.text("state = 'reserved'")),
    sa.Index("redemptions_by_promotion", "tenant_id", "promotion_id", "created_at"),
)

trials = sa.Table(
    "trials",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("product_line", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("started_at", _TS, nullable=False),
)

trial_markers = sa.Table(
    "trial_markers",
    metadata,
    # NOTE: the key leads with what a check looks up: (tenant, product line, kind, value).
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("product_line", sa.Text, primary_key=True),
    sa.Column("kind", sa.Text, primary_key=True),
    sa.Column("value", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
)

referral_programs = sa.Table(
    "referral_programs",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

referral_codes = sa.Table(
    "referral_codes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("code", sa.Text, nullable=False),
    # NOTE: moved by a conditional UPDATE against the program's cap, so the cap holds under concurrency.
    sa.Column("rewarded_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("tenant_id", "code", name="referral_codes_code_key"),
)

referrals = sa.Table(
    "referrals",
    metadata,
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
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("converted_at", _TS),
    sa.UniqueConstraint("tenant_id", "referred_customer_id", name="referrals_referred_key"),
    sa.Index("referrals_by_created", "tenant_id", "created_at", "id"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("trigger", sa.Text, nullable=False),
    sa.Column("promotion_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    # NOTE: conditions, offer validity, frequency cap and quiet period.
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("campaigns_by_trigger", "tenant_id", "trigger", "state"),
)

campaign_offers = sa.Table(
    "campaign_offers",
    metadata,
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
    sa.Column("subscribed_at", _TS, nullable=False),
    sa.Column("promotion_id", sa.Text, nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("expires_at", _TS, nullable=False),
    sa.Column("issued_at", _TS, nullable=False),
    sa.Column("trial_extension_days", sa.Integer, nullable=False, server_default="0"),
    sa.UniqueConstraint("tenant_id", "campaign_id", "trigger_event_id", name="campaign_offers_event_key"),
    sa.UniqueConstraint("tenant_id", "campaign_id", "customer_id", "ordinal", name="campaign_offers_ordinal_key"),
    sa.Index("campaign_offers_by_customer", "tenant_id", "customer_id", "issued_at"),
    sa.Index("campaign_offers_by_issued", "tenant_id", "issued_at", "id"),
)

# NOTE: the private key signs promotional offers here and is never answered; it is stored sealed (its PEM encrypted
# under a data key wrapped by a key-encryption key of AZOTTE_PROMOTIONS_KEKS, bound to the tenant).
app_store_subscription_keys = sa.Table(
    "app_store_subscription_keys",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("key_id", sa.Text, nullable=False),
    sa.Column("bundle_id", sa.Text, nullable=False),
    sa.Column("kek_id", sa.Text, nullable=False),
    sa.Column("wrapped_key", sa.LargeBinary, nullable=False),
    sa.Column("nonce", sa.LargeBinary, nullable=False),
    sa.Column("ciphertext", sa.LargeBinary, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

trial_endings = sa.Table(
    "trial_endings",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("subscribed_at", _TS, nullable=False),
    sa.Column("trial_end", _TS, nullable=False),
    # NOTE: the trial-ending campaigns that judged this trial already (each judges it once).
    sa.Column("judged_campaign_ids", ARRAY(sa.Text), nullable=False, server_default="{}"),
    sa.Index("trial_endings_by_end", "trial_end"),
)

experiments = sa.Table(
    "experiments",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("variants", JSONB, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("shipped_variant_id", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

experiment_assignments = sa.Table(
    "experiment_assignments",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("experiment_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("variant_id", sa.Text, nullable=False),
    sa.Column("assigned_at", _TS, nullable=False),
    # NOTE: what the customer paid since exposure, in the experiment's currency, from payments' events.
    sa.Column("payments", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("revenue_minor", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("experiment_assignments_by_customer", "tenant_id", "customer_id"),
)
