"""Revenue analytics tables: the revenue stream, the standings it keeps, and the tenant's exchange rates."""

from __future__ import annotations

import sqlalchemy as sa

from azotte_gateway.adapters.tables import metadata
from azotte_gateway.domain.revenue import MEASURES

_TS = sa.DateTime(timezone=True)


def _amount(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger, nullable=False, server_default="0")


def _text(name: str) -> sa.Column[str]:
    return sa.Column(name, sa.Text, nullable=False, server_default="")


# One row per revenue-relevant event of any service, in the order it was applied (`seq`).
revenue_entries = sa.Table(
    "revenue_entries",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
    sa.Column("occur_time", _TS, nullable=False),
    _text("source"),
    _text("type"),
    _text("customer_id"),
    _text("subscription_id"),
    _text("plan_id"),
    _text("storefront_id"),
    _text("channel"),
    _text("currency"),
    _text("state"),
    _text("cause"),
    _text("charge_id"),
    _text("period_key"),
    _text("promotion_id"),
    _text("campaign_id"),
    _text("experiment_id"),
    _text("variant_id"),
    _text("psp"),
    _text("decline_reason"),
    _amount("gross_minor"),
    _amount("discount_minor"),
    _amount("tax_minor"),
    _amount("net_minor"),
    _amount("refund_minor"),
    _amount("credit_minor"),
    _amount("credit_applied_minor"),
    _amount("ledger_net_minor"),
    _amount("ledger_tax_minor"),
    _amount("store_commission_minor"),
    _text("movement"),
    _amount("mrr_delta_minor"),
    _amount("trial_delta"),
    _amount("paying_delta"),
    _amount("customer_paying_delta"),
    sa.Column("dunning_started", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("recovered", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Index("revenue_entries_by_time", "tenant_id", "occur_time"),
    sa.Index("revenue_entries_by_customer", "tenant_id", "customer_id", "seq"),
    sa.Index("revenue_entries_by_subscription", "tenant_id", "subscription_id", "seq"),
    sa.Index("revenue_entries_by_type", "tenant_id", "type", "occur_time"),
    sa.Index("revenue_entries_by_experiment", "tenant_id", "experiment_id", "occur_time"),
)

# What each charge billed for usage, per meter (usage revenue and consumption per meter).
revenue_usage = sa.Table(
    "revenue_usage",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("event_id", sa.Text, primary_key=True),
    sa.Column("meter_key", sa.Text, primary_key=True),
    sa.Column("occur_time", _TS, nullable=False),
    _text("currency"),
    _text("storefront_id"),
    _text("channel"),
    _text("plan_id"),
    sa.Column("quantity", sa.Numeric, nullable=False),
    _amount("billed_minor"),
    _amount("credit_minor"),
    sa.Index("revenue_usage_by_time", "tenant_id", "occur_time"),
)

# Charge series started on a day, those whose first charge succeeded, those that ever succeeded: kept on the
# series' start day (a retry that succeeds later adds to the day its series started).
SERIES_MEASURES = ("series_started", "series_first_succeeded", "series_succeeded")

# The daily read model: each day's sums per currency and slice, added to as entries are recorded.
revenue_days = sa.Table(
    "revenue_days",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("storefront_id", sa.Text, primary_key=True),
    sa.Column("channel", sa.Text, primary_key=True),
    sa.Column("plan_id", sa.Text, primary_key=True),
    *(_amount(name) for name in (*MEASURES, *SERIES_MEASURES)),
)

# One row per charge series (a renewal period's charges, or one checkout charge): how it started and ended.
revenue_charge_series = sa.Table(
    "revenue_charge_series",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("series_key", sa.Text, primary_key=True),
    sa.Column("start_time", _TS, nullable=False),
    _text("currency"),
    _text("storefront_id"),
    _text("channel"),
    _text("plan_id"),
    sa.Column("first_succeeded", sa.Boolean, nullable=False),
    sa.Column("succeeded", sa.Boolean, nullable=False),
    sa.Index("revenue_charge_series_by_start", "tenant_id", "start_time"),
)

revenue_subscriptions = sa.Table(
    "revenue_subscriptions",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("subscription_id", sa.Text, primary_key=True),
    sa.Column("standing", sa.Text, nullable=False),
    _amount("mrr_minor"),
    sa.Column("ever_paid", sa.Boolean, nullable=False),
    sa.Column("in_dunning", sa.Boolean, nullable=False),
)

revenue_customers = sa.Table(
    "revenue_customers",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("customer_id", sa.Text, primary_key=True),
    sa.Column("paying_subscriptions", sa.Integer, nullable=False),
)

exchange_rates = sa.Table(
    "exchange_rates",
    metadata,
    sa.Column("tenant_id", sa.Text, primary_key=True),
    sa.Column("currency", sa.Text, primary_key=True),
    sa.Column("reporting_currency", sa.Text, primary_key=True),
    sa.Column("effective_date", sa.Date, primary_key=True),
    sa.Column("rate", sa.Numeric, nullable=False),
)
