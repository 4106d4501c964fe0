"""Partners' wholesale terms: the tenant's share of the catalog price, in basis points (existing partners: all).

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.add_column(
        "partners", sa.Column("revenue_share_bps", sa.Integer, nullable=False, server_default=sa.text("10000"))
    )
    op.alter_column("partners", "revenue_share_bps", server_default=None)


def downgrade() -> None:
    op.drop_column("partners", "revenue_share_bps")
