"""Each tenant's App Store apps: the trusted root, bundle id and environment their notifications must match.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "app_store_apps",
        sa.Column("tenant_id", sa.Text, sa.ForeignKey("tenants.tenant_id"), primary_key=True),
        sa.Column("app_id", sa.Text, primary_key=True),
        sa.Column("bundle_id", sa.Text, nullable=False),
        sa.Column("environment", sa.Text, nullable=False),
        sa.Column("root_certificate_pem", sa.Text, nullable=False),
        sa.Column("app_apple_id", sa.BigInteger, nullable=False),
        sa.Column("storefront_id", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("app_store_apps")
