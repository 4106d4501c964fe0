"""The outbox keeps only events still to publish: the relay deletes a row once JetStream has it.

Revision ID: platform_0001
Revises: (a branch of its own, after the service's 0001 that created the platform tables)
"""

from alembic import op

from azotte_platform.db.tables import delete_published_outbox_rows, restore_published_outbox_mark

revision = "platform_0001"
down_revision = None
branch_labels = ("platform",)
depends_on = "0001"


def upgrade() -> None:
    delete_published_outbox_rows(op.get_bind())


def downgrade() -> None:
    restore_published_outbox_mark(op.get_bind())
