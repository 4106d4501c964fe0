"""Enterprise contracts and their versions.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "contracts",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("customer_id", sa.Text, nullable=False),
        sa.Column("subscription_id", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("aggregate", JSONB, nullable=False),
        sa.UniqueConstraint("tenant_id", "subscription_id", name="contracts_subscription_key"),
    )
    op.create_index("contracts_by_customer", "contracts", ["tenant_id", "customer_id", "created_at", "id"])
    op.create_index("contracts_by_create_time", "contracts", ["tenant_id", "created_at", "id"])
    op.create_table(
        "contract_versions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("contract_id", sa.Text, primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("terms", JSONB, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("contract_versions")
    op.drop_table("contracts")
