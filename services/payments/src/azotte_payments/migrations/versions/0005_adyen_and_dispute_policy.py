"""Adyen accounts' notification state and the tenant's dispute access policy.

Adyen accounts need no table of their own (credentials are sealed in `psp_accounts`, notifications are claimed
in `psp_webhook_events`). A dispute records what the policy did to access when it opened.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("disputes", sa.Column("access", sa.Text, nullable=False, server_default="keep"))
    op.create_table(
        "dispute_policies",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("on_dispute_opened", sa.Text, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("dispute_policies")
    op.drop_column("disputes", "access")
