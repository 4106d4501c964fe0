"""Payment methods, charges and their attempts, refunds, credit balances and the revenue journal.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from azotte_payments.adapters.tables import metadata

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
