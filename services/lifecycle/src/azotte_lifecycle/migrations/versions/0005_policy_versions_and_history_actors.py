"""Lifecycle policies are versioned (who stored each version, when); history entries name their actor;
customers and subscriptions are listed by create time (and customers searched by email) through an index.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("subscription_history", sa.Column("actor", sa.Text, nullable=False, server_default=""))
    op.add_column("lifecycle_policies", sa.Column("version", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("lifecycle_policies", sa.Column("updated_by", sa.Text, nullable=False, server_default=""))
    op.create_table(
        "lifecycle_policy_versions",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("policy", JSONB, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text, nullable=False),
    )
    op.create_index("customers_by_create_time", "customers", ["tenant_id", "created_at", "id"])
    op.create_index("customers_by_email", "customers", ["tenant_id", "email"])
    op.create_index("subscriptions_by_create_time", "subscriptions", ["tenant_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("subscriptions_by_create_time", "subscriptions")
    op.drop_index("customers_by_email", "customers")
    op.drop_index("customers_by_create_time", "customers")
    op.drop_table("lifecycle_policy_versions")
    op.drop_column("lifecycle_policies", "updated_by")
    op.drop_column("lifecycle_policies", "version")
    op.drop_column("subscription_history", "actor")
