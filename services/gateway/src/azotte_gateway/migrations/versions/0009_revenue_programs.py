"""The revenue stream names the campaign, experiment and variant of campaign offers and experiment
assignments, carries the commission a store kept of a sale it billed (per entry and per day) and the credit a
charge used, and keeps
what each charge billed for usage per meter.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
_TS = sa.DateTime(timezone=True)
_TEXTS = ("campaign_id", "experiment_id", "variant_id")
_SLICE = ("currency", "storefront_id", "channel", "plan_id")


def upgrade() -> None:
    for name in _TEXTS:
        op.add_column("revenue_entries", sa.Column(name, sa.Text, nullable=False, server_default=""))
    for table in ("revenue_entries", "revenue_days"):
        op.add_column(table, sa.Column("store_commission_minor", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column(
        "revenue_entries", sa.Column("credit_applied_minor", sa.BigInteger, nullable=False, server_default="0")
    )
    op.create_index("revenue_entries_by_experiment", "revenue_entries", ["tenant_id", "experiment_id", "occur_time"])
    op.create_table(
        "revenue_usage",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("event_id", sa.Text, primary_key=True),
        sa.Column("meter_key", sa.Text, primary_key=True),
        sa.Column("occur_time", _TS, nullable=False),
        *(sa.Column(name, sa.Text, nullable=False, server_default="") for name in _SLICE),
        sa.Column("quantity", sa.Numeric, nullable=False),
        sa.Column("billed_minor", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("credit_minor", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("revenue_usage_by_time", "revenue_usage", ["tenant_id", "occur_time"])


def downgrade() -> None:
    op.drop_table("revenue_usage")
    op.drop_index("revenue_entries_by_experiment", "revenue_entries")
    op.drop_column("revenue_entries", "credit_applied_minor")
    for table in ("revenue_entries", "revenue_days"):
        op.drop_column(table, "store_commission_minor")
    for name in _TEXTS:
        op.drop_column("revenue_entries", name)
