"""The scheduler claims one tenant's due work at a time: index it by tenant.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_index(
        "subscriptions_due_by_tenant",
        "subscriptions",
        ["tenant_id", "next_due_at"],
        postgresql_where=sa.text("next_due_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("subscriptions_due_by_tenant", "subscriptions")
