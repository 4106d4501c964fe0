"""Usage periods may end: past `period_end` the feature's quota counts as unused until a newer period is reported.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("usage", sa.Column("period_end", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("usage", "period_end")
