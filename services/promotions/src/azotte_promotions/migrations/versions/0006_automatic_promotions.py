"""Automatic promotions: the flag, and the index the checkout's lookup of a tenant's active ones reads.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.add_column("promotions", sa.Column("automatic", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_index(
        "promotions_automatic_active",
        "promotions",
        ["tenant_id", "created_at", "id"],
        postgresql_where=sa.text("automatic AND state = 'active'"),
    )


def downgrade() -> None:
    op.drop_index("promotions_automatic_active", table_name="promotions")
    op.drop_column("promotions", "automatic")
