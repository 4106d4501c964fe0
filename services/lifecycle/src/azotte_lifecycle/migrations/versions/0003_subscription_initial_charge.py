"""Subscriptions remember the checkout charge that paid their first period.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("subscriptions", sa.Column("initial_charge_id", sa.Text))


def downgrade() -> None:
    op.drop_column("subscriptions", "initial_charge_id")
