"""SQLAlchemy Core tables of the metering database (tenant in every key, quantities as NUMERIC).

Usage lives in three places, all written by one statement per ingested batch:
- `usage_event_ids`: the dedup key (tenant, source, id) of every event accepted, kept at least 35 days;
- `usage_events`: the raw events, partitioned by month of event time (`adapters/partitions.py` adds months);
- `usage_rollups`: per (customer, meter, dimension values, minute/hour/day bucket) the count, sum, min, max
  and latest value of the meter's events, and `usage_distinct_values` for UNIQUE_COUNT meters.
Usage queries read rollups only; the raw events are for audit and export.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

_TS = sa.DateTime(timezone=True)

meters = sa.Table(
    "meters",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("key", sa.Text, primary_key=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("event_type", sa.Text, nullable=False),
    sa.Column("value_path", sa.Text, nullable=False),
    sa.Column("aggregation", sa.Text, nullable=False),
    sa.Column("dimensions", JSONB, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("quota_features", JSONB, nullable=False, server_default="[]"),
    sa.Index("meters_by_event_type", "tenant_id", "event_type"),
)

usage_event_ids = sa.Table(
    "usage_event_ids",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("received_at", _TS, nullable=False),
    sa.Index("usage_event_ids_by_receipt", "received_at"),
)

usage_events = sa.Table(
    "usage_events",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("time", _TS, primary_key=True),
    sa.Column("source", sa.Text, primary_key=True),
    sa.Column("id", sa.Text, primary_key=True),
    sa.Column("type", sa.Text, nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("data", JSONB, nullable=False),
    sa.Column("received_at", _TS, nullable=False),
    sa.Index("usage_events_by_subject", "tenant_id", "subject", "time"),
    postgresql_partition_by="RANGE (time)",
)


def _rollup_key() -> list[sa.Column[object]]:
    """The key of a rollup bucket: (tenant, customer, meter, granularity, bucket start, dimension values)."""
    return [
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("meter_key", sa.Text, primary_key=True),
        # NOTE: 'minute', 'hour' or 'day' (UTC); bucket_start is truncated to it.
        sa.Column("granularity", sa.Text, primary_key=True),
        sa.Column("bucket_start", _TS, primary_key=True),
        # NOTE: the meter's dimension values as canonical JSON (sorted keys): one row per distinct set.
        sa.Column("dimensions_key", sa.Text, primary_key=True),
    ]


usage_rollups = sa.Table(
    "usage_rollups",
    metadata,
    *_rollup_key(),
    sa.Column("dimensions", JSONB, nullable=False),
    sa.Column("event_count", sa.BigInteger, nullable=False),
    sa.Column("total", sa.Numeric, nullable=False),
    sa.Column("minimum", sa.Numeric),
    sa.Column("maximum", sa.Numeric),
    sa.Column("latest_time", _TS, nullable=False),
    sa.Column("latest_value", sa.Numeric),
    sa.Column("distinct_count", sa.BigInteger, nullable=False, server_default="0"),
    # NOTE: room on each page for the upserts' new row versions (HOT updates: the key index is not touched).
    postgresql_with={"fillfactor": 70},
)

usage_distinct_values = sa.Table(
    "usage_distinct_values",
    metadata,
    *_rollup_key(),
    sa.Column("value", sa.Text, primary_key=True),
)

# ---------------------------------------------------------------------------------------- usage billing
# Usage prices, the usage a customer accrued per billing period and what it rated to, prepaid wallets with
# their grants and movements, auto-recharges, and limits (`domain/pricing.py`, `wallets.py`, `limits.py`).

usage_prices = sa.Table(
    "usage_prices",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("storefront_id", sa.Text, primary_key=True),
    sa.Column("plan_id", sa.Text, primary_key=True),
    sa.Column("meter_key", sa.Text, primary_key=True),
    # NOTE: the dimension values the price is for, as canonical JSON ("" = every usage of the meter).
    sa.Column("dimensions_key", sa.Text, primary_key=True),
    sa.Column("dimensions", JSONB, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    # NOTE: the model's parameters with every amount as a decimal string (never a JSON number).
    sa.Column("definition", JSONB, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

usage_accounts = sa.Table(
    "usage_accounts",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("plan_id", sa.Text, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("period_start", _TS, nullable=False),
    sa.Column("period_end", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

usage_period_totals = sa.Table(
    "usage_period_totals",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("period_start", _TS, primary_key=True),
    sa.Column("meter_key", sa.Text, primary_key=True),
    sa.Column("dimensions_key", sa.Text, primary_key=True),
    sa.Column("dimensions", JSONB, nullable=False),
    sa.Column("quantity", sa.Numeric, nullable=False),
    sa.Column("event_count", sa.BigInteger, nullable=False),
    sa.Column("latest_time", _TS, nullable=False),
    # NOTE: what the quantity rated to (whole minor units of currency_code; "" = no price applies).
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("rated_minor", sa.BigInteger, nullable=False),
)

usage_periods = sa.Table(
    "usage_periods",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("period_start", _TS, primary_key=True),
    sa.Column("period_end", _TS, nullable=False),
    # NOTE: rated usage paid from the wallet as it arrived (the rest is charged in arrears).
    sa.Column("credited_minor", sa.BigInteger, nullable=False),
    # NOTE: set when lifecycle starts the next period (later usage of this one is an adjustment).
    sa.Column("closed_at", _TS),
)

usage_adjustments = sa.Table(
    "usage_adjustments",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("adjustment_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    # NOTE: the period whose charge carries it (the current one when the late usage arrived).
    sa.Column("period_start", _TS, nullable=False),
    sa.Column("usage_time", _TS, nullable=False),
    sa.Column("meter_key", sa.Text, nullable=False),
    sa.Column("dimensions", JSONB, nullable=False),
    sa.Column("quantity", sa.Numeric, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Index("usage_adjustments_by_period", "tenant_id", "customer_id", "period_start"),
)

usage_bills = sa.Table(
    "usage_bills",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    # NOTE: the start of the subscription's period as lifecycle closed it (the key of its renewal).
    sa.Column("period_start", _TS, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("billed_period_start", _TS, nullable=False),
    sa.Column("billed_period_end", _TS, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("lines", JSONB, nullable=False),
    sa.Column("adjustments", JSONB, nullable=False),
    sa.Column("credited_minor", sa.BigInteger, nullable=False),
    sa.Column("billed_at", _TS, nullable=False),
)

wallets = sa.Table(
    "wallets",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("currency_code", sa.Text, primary_key=True),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("recharge_threshold_minor", sa.BigInteger),
    sa.Column("recharge_amount_minor", sa.BigInteger),
    sa.Column("recharges", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

credit_grants = sa.Table(
    "credit_grants",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("grant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("remaining_minor", sa.BigInteger, nullable=False),
    sa.Column("priority", sa.Integer, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("granted_at", _TS, nullable=False),
    sa.Column("expires_at", _TS),
    sa.Index("credit_grants_by_wallet", "tenant_id", "customer_id", "currency_code"),
)

wallet_movements = sa.Table(
    "wallet_movements",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    sa.Column("grant_id", sa.Text, nullable=False),
    sa.Column("reference", sa.Text, nullable=False),
    sa.Column("balance_after_minor", sa.BigInteger, nullable=False),
    sa.Column("at", _TS, nullable=False),
    sa.Index("wallet_movements_by_wallet", "tenant_id", "customer_id", "currency_code", "seq"),
)

wallet_recharges = sa.Table(
    "wallet_recharges",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("recharge_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, nullable=False),
    sa.Column("currency_code", sa.Text, nullable=False),
    sa.Column("storefront_id", sa.Text, nullable=False),
    sa.Column("amount_minor", sa.BigInteger, nullable=False),
    # NOTE: pending until the charge answers, then succeeded (credit granted) or failed.
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("charge_id", sa.Text, nullable=False),
    sa.Column("failure", sa.Text, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Index("wallet_recharges_pending", "state", "created_at"),
)

usage_limits = sa.Table(
    "usage_limits",
    metadata,
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
    # NOTE: where the limit stands in its current period (domain/limits.py LimitState).
    sa.Column("period_key", sa.Text, nullable=False),
    sa.Column("alerted", JSONB, nullable=False),
    sa.Column("cut_off", sa.Boolean, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("downgrade_plan_id", sa.Text, nullable=False, server_default=""),
    sa.Column("downgraded", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("usage_limits_by_customer", "tenant_id", "customer_id"),
)
