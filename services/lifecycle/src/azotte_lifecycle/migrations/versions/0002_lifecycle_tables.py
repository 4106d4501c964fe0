"""Customers and identities, subscriptions with their due work, history, policies, channel events.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from azotte_lifecycle.adapters.tables import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
