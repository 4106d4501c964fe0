"""Credit movements: every grant, refund to credit, spend and release of a customer's credit.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.create_table(
        "credit_movements",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("currency", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount_minor", sa.BigInteger, nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger, nullable=False),
        sa.Column("charge_id", sa.Text, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    )
    op.create_index("credit_movements_by_customer", "credit_movements", ["tenant_id", "customer_id", "seq"])


def downgrade() -> None:
    op.drop_table("credit_movements")
