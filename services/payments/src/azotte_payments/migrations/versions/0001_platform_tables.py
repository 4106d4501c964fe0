"""Outbox, inbox and idempotency tables.

Revision ID: 0001
Revises:
"""

from alembic import op

from azotte_platform.db.tables import create_platform_tables, drop_platform_tables

revision = "0001"
down_revision = None


def upgrade() -> None:
    create_platform_tables(op.get_bind())


def downgrade() -> None:
    drop_platform_tables(op.get_bind())
