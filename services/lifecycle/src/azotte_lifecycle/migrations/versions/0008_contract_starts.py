"""Scheduled contract starts: a contract signed to start later keeps its start in `starts_at` until it starts.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.add_column("contracts", sa.Column("starts_at", sa.DateTime(timezone=True)))
    op.create_index("contracts_starting", "contracts", ["starts_at"], postgresql_where=sa.text("starts_at IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("contracts_starting", table_name="contracts")
    op.drop_column("contracts", "starts_at")
