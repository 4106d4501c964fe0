"""Each subscriber's price changes (old and new price, notice, answer, outcome) for the impact report.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "price_changes",
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
    )
    op.create_index(
        "price_changes_by_plan", "price_changes", ["tenant_id", "storefront_id", "plan_id", "price_effective_at"]
    )


def downgrade() -> None:
    op.drop_index("price_changes_by_plan", "price_changes")
    op.drop_table("price_changes")
