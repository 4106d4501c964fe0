"""Meters measure the plans' quota features: the feature keys (and dimension values) each meter reports.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.add_column("meters", sa.Column("quota_features", JSONB, nullable=False, server_default="[]"))


def downgrade() -> None:
    op.drop_column("meters", "quota_features")
