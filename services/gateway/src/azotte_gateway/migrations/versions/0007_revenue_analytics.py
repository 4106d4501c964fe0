"""Revenue analytics: the revenue stream, subscription and customer standings, exchange rates.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

_TS = sa.DateTime(timezone=True)
_TEXTS = [
    "source",
    "type",
    "customer_id",
    "subscription_id",
    "plan_id",
    "storefront_id",
    "channel",
    "currency",
    "state",
    "cause",
    "charge_id",
    "period_key",
    "promotion_id",
    "psp",
    "decline_reason",
    "movement",
]
_AMOUNTS = [
    "gross_minor",
    "discount_minor",
    "tax_minor",
    "net_minor",
    "refund_minor",
    "credit_minor",
    "ledger_net_minor",
    "ledger_tax_minor",
    "mrr_delta_minor",
    "trial_delta",
    "paying_delta",
    "customer_paying_delta",
]

# The daily read model's measures: `domain.revenue.MEASURES` and `revenue_tables.SERIES_MEASURES` at this revision.
_MEASURES = [
    "new_minor",
    "expansion_minor",
    "contraction_minor",
    "churn_minor",
    "reactivation_minor",
    "trial_delta",
    "paying_delta",
    "customers_gained",
    "customers_lost",
    "gross_minor",
    "discount_minor",
    "refund_minor",
    "credit_minor",
    "ledger_net_minor",
    "ledger_tax_minor",
    "dunning_started",
    "recovered",
    "series_started",
    "series_first_succeeded",
    "series_succeeded",
]
_SLICE = ["currency", "storefront_id", "channel", "plan_id"]


def upgrade() -> None:
    op.create_table(
        "revenue_entries",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(always=True), nullable=False, unique=True),
        sa.Column("occur_time", _TS, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False, server_default="") for name in _TEXTS),
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in _AMOUNTS),
        sa.Column("dunning_started", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("recovered", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("revenue_entries_by_time", "revenue_entries", ["tenant_id", "occur_time"])
    op.create_index("revenue_entries_by_customer", "revenue_entries", ["tenant_id", "customer_id", "seq"])
    op.create_index("revenue_entries_by_subscription", "revenue_entries", ["tenant_id", "subscription_id", "seq"])
    op.create_index("revenue_entries_by_type", "revenue_entries", ["tenant_id", "type", "occur_time"])
    op.create_table(
        "revenue_days",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        *(sa.Column(name, sa.Text, primary_key=True) for name in _SLICE),
        *(sa.Column(name, sa.BigInteger, nullable=False, server_default="0") for name in _MEASURES),
    )
    op.create_table(
        "revenue_charge_series",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("series_key", sa.Text, primary_key=True),
        sa.Column("start_time", _TS, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False, server_default="") for name in _SLICE),
        sa.Column("first_succeeded", sa.Boolean, nullable=False),
        sa.Column("succeeded", sa.Boolean, nullable=False),
    )
    op.create_index("revenue_charge_series_by_start", "revenue_charge_series", ["tenant_id", "start_time"])
    op.create_table(
        "revenue_subscriptions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("standing", sa.Text, nullable=False),
        sa.Column("mrr_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("ever_paid", sa.Boolean, nullable=False),
        sa.Column("in_dunning", sa.Boolean, nullable=False),
    )
    op.create_table(
        "revenue_customers",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, primary_key=True),
        sa.Column("paying_subscriptions", sa.Integer, nullable=False),
    )
    op.create_table(
        "exchange_rates",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("currency", sa.Text, primary_key=True),
        sa.Column("reporting_currency", sa.Text, primary_key=True),
        sa.Column("effective_date", sa.Date, primary_key=True),
        sa.Column("rate", sa.Numeric, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "exchange_rates",
        "revenue_customers",
        "revenue_subscriptions",
        "revenue_charge_series",
        "revenue_days",
        "revenue_entries",
    ):
        op.drop_table(table)
