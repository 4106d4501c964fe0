"""SQLAlchemy Core tables of the lifecycle database (tenant in every key, money in minor units)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)

customers = sa.Table(
    "customers",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("external_id", sa.Text, nullable=False),
    sa.Column("email", sa.Text, nullable=False),
    sa.Column("country_code", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.UniqueConstraint("tenant_id", "external_id", name="customers_external_id_key"),
    sa.Index("customers_by_create_time", "tenant_id", "created_at", "id"),
    sa.Index("customers_by_email", "tenant_id", "email"),
)

customer_identities = sa.Table(
    "customer_identities",
    metadata,
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("issuer", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "kind", "issuer", "value", name="customer_identities_pkey"),
    sa.Index("customer_identities_by_customer", "tenant_id", "customer_id"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("billing_origin", sa.Text, nullable=False),
    sa.Column("current_period_end", _TS, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("next_due_at", _TS),
    sa.Column("due_kind", sa.Text),
    sa.Column("aggregate", JSONB, nullable=False),
    sa.Column("initial_charge_id", sa.Text),
    sa.Index("subscriptions_by_customer", "tenant_id", "customer_id", "id"),
    sa.Index("subscriptions_by_create_time", "tenant_id", "created_at", "id"),
    sa.Index("subscriptions_due", "next_due_at", postgresql_where=sa.text("next_due_at IS NOT NULL")),
    sa.Index(
        "subscriptions_due_by_tenant", "tenant_id", "next_due_at", postgresql_where=sa.text("next_due_at IS NOT NULL")
    ),
)

subscription_identities = sa.Table(
    "subscription_identities",
    metadata,
    sa.Column("tenant_id", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("issuer", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.PrimaryKeyConstraint("tenant_id", "kind", "issuer", "value", name="subscription_identities_pkey"),
)

subscription_history = sa.Table(
    "subscription_history",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("occurred_at", _TS, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("from_state", sa.Text),
    sa.Column("to_state", sa.Text, nullable=False),
    sa.Column("cause", sa.Text, nullable=False),
    sa.Column("cause_ref", sa.Text, nullable=False),
    sa.Column("actor", sa.Text, nullable=False, server_default=""),
)

lifecycle_policies = sa.Table(
    "lifecycle_policies",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("policy", JSONB, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("updated_by", sa.Text, nullable=False, server_default=""),
)

lifecycle_policy_versions = sa.Table(
    "lifecycle_policy_versions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("version", sa.BigInteger, primary_key=True),
    sa.Column("policy", JSONB, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)

applied_channel_events = sa.Table(
    "applied_channel_events",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("applied_at", _TS, nullable=False),
)

price_changes = sa.Table(
    "price_changes",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("effective_at", _TS, primary_key=True),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("price_effective_at", _TS, nullable=False),
    sa.Column("cohort", sa.Text, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("old_amount_minor", sa.BigInteger, nullable=False),
    sa.Column("new_amount_minor", sa.BigInteger, nullable=False),
    sa.Column("noticed_at", _TS),
    sa.Column("consented_at", _TS),
    sa.Column("declined_at", _TS),
    sa.Column("outcome", sa.Text, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("price_changes_by_plan", "tenant_id", "storefront_id", "plan_id", "price_effective_at"),
)

contracts = sa.Table(
    "contracts",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("aggregate", JSONB, nullable=False),
    sa.Column("starts_at", _TS),
    sa.UniqueConstraint("tenant_id", "subscription_id", name="contracts_subscription_key"),
    sa.Index("contracts_by_customer", "tenant_id", "customer_id", "created_at", "id"),
    sa.Index("contracts_by_create_time", "tenant_id", "created_at", "id"),
    sa.Index("contracts_starting", "starts_at", postgresql_where=sa.text("starts_at IS NOT NULL")),
)

contract_versions = sa.Table(
    "contract_versions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("contract_id", sa.Text, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("terms", JSONB, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("actor", sa.Text, nullable=False),
)
