"""Each tenant's secret that signs its customer tokens.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("tenants", sa.Column("customer_token_secret", sa.LargeBinary))
    # NOTE: tenants made before this revision get 32 random bytes (two version-4 UUIDs: 244 random bits).
    op.execute(
        "UPDATE tenants SET customer_token_secret = "
        "decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex')"
    )
    op.alter_column("tenants", "customer_token_secret", nullable=False)


def downgrade() -> None:
    op.drop_column("tenants", "customer_token_secret")
