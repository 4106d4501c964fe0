"""SQLAlchemy Core tables of the catalog: every row carries its tenant, in every key."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()


def _times() -> list[sa.Column[object]]:
    return [
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    ]


storefronts = sa.Table(
    "storefronts",
    metadata,
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
    sa.Column("price_increase_notice_days", sa.Integer, nullable=False, server_default="0"),
    sa.Column("price_increase_consent_required", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("branding", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    sa.Column("disclosure_required", sa.Boolean, nullable=False, server_default=sa.false()),
    *_times(),
)

features = sa.Table(
    "features",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("unit", sa.Text),
    sa.Column("reset_period", sa.Text),
    sa.Column("texts", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    *_times(),
)

plans = sa.Table(
    "plans",
    metadata,
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
    sa.Column("texts", JSONB, nullable=False, server_default=sa.text("'{}'::jsonb")),
    *_times(),
)

prices = sa.Table(
    "prices",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    # NOTE: '' is the storefront default, so the key is unique without NULL semantics.
    sa.Column("channel", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("currency", sa.Text, nullable=False),
    sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
    sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("existing_subscribers", sa.Text, nullable=False),
    sa.Column("activated_at", sa.DateTime(timezone=True)),
    sa.UniqueConstraint("tenant_id", "plan_id", "storefront_id", "channel", "effective_from"),
    sa.CheckConstraint("amount_minor >= 0", name="prices_amount_not_negative"),
    sa.Index("prices_pending_activation", "effective_from", postgresql_where=sa.text("activated_at IS NULL")),
)

channel_mappings = sa.Table(
    "channel_mappings",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("external_product_id", sa.Text, primary_key=True),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text),
    *_times(),
)

catalog_settings = sa.Table(
    "catalog_settings",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    # NOTE: the locale of the resources' own names; a tenant without a row has the default, "en".
    sa.Column("default_locale", sa.Text, nullable=False),
    *_times(),
)
