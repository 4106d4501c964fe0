"""App Store apps' Server API keys: the key's ids, its private key sealed (envelope encryption).

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
COLUMNS = (
    ("server_api_issuer_id", sa.Text),
    ("server_api_key_id", sa.Text),
    ("server_api_kek_id", sa.Text),
    ("server_api_wrapped_key", sa.LargeBinary),
    ("server_api_nonce", sa.LargeBinary),
    ("server_api_ciphertext", sa.LargeBinary),
)


def upgrade() -> None:
    for name, kind in COLUMNS:
        op.add_column("app_store_apps", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name, _ in reversed(COLUMNS):
        op.drop_column("app_store_apps", name)
