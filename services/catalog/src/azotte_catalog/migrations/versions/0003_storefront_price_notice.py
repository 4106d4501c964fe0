"""Storefronts say how many days before a renewal a price increase must be announced to a subscriber, and
whether the subscriber must consent to it.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column(
        "storefronts", sa.Column("price_increase_notice_days", sa.Integer, nullable=False, server_default="0")
    )
    op.add_column(
        "storefronts",
        sa.Column("price_increase_consent_required", sa.Boolean, nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("storefronts", "price_increase_consent_required")
    op.drop_column("storefronts", "price_increase_notice_days")
