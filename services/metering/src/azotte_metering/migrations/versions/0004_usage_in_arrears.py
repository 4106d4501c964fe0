"""Usage charged in arrears with the renewal: the bill of each closed period, frozen once; limits that downgrade.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "usage_bills",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("subscription_id", sa.Text, primary_key=True),
        sa.Column("period_start", TS, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("billed_period_start", TS, nullable=False),
        sa.Column("billed_period_end", TS, nullable=False),
        sa.Column("currency_code", sa.Text, nullable=False),
        sa.Column("lines", JSONB, nullable=False),
        sa.Column("adjustments", JSONB, nullable=False),
        sa.Column("credited_minor", sa.BigInteger, nullable=False),
        sa.Column("billed_at", TS, nullable=False),
    )
    op.add_column("usage_limits", sa.Column("downgrade_plan_id", sa.Text, nullable=False, server_default=""))
    op.add_column("usage_limits", sa.Column("downgraded", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("usage_limits", "downgraded")
    op.drop_column("usage_limits", "downgrade_plan_id")
    op.drop_table("usage_bills")
