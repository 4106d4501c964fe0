"""Localized texts per locale and storefront branding.

Plans and features carry their texts per BCP 47 locale, storefronts their branding and whether they require
a disclosure, and each tenant may name the locale of its catalog's own names.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"

_EMPTY = sa.text("'{}'::jsonb")


def upgrade() -> None:
    op.add_column("plans", sa.Column("texts", JSONB, nullable=False, server_default=_EMPTY))
    op.add_column("features", sa.Column("texts", JSONB, nullable=False, server_default=_EMPTY))
    op.add_column("storefronts", sa.Column("branding", JSONB, nullable=False, server_default=_EMPTY))
    op.add_column(
        "storefronts", sa.Column("disclosure_required", sa.Boolean, nullable=False, server_default=sa.false())
    )
    op.create_table(
        "catalog_settings",
        sa.Column("tenant_id", sa.Text, primary_key=True),
        sa.Column("default_locale", sa.Text, nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("catalog_settings")
    op.drop_column("storefronts", "disclosure_required")
    op.drop_column("storefronts", "branding")
    op.drop_column("features", "texts")
    op.drop_column("plans", "texts")
