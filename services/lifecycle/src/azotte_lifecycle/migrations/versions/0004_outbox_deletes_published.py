"""The outbox keeps only events still to publish: the relay deletes a row once JetStream has it.

Revision ID: 0004
Revises: 0003
"""

from alembic import op

from azotte_platform.db.tables import delete_published_outbox_rows, restore_published_outbox_mark

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    delete_published_outbox_rows(op.get_bind())


def downgrade() -> None:
    restore_published_outbox_mark(op.get_bind())
