"""The App Store subscription keys sealed at rest: each stored PEM is sealed under the active key-encryption key of
`AZOTTE_PROMOTIONS_KEKS` (which the migration then needs whenever a key is stored) and its plaintext column dropped.

Revision ID: 0005
Revises: 0004
"""

import os

import sqlalchemy as sa
from alembic import op

from azotte_platform.sealing import Keyring
from azotte_promotions.adapters.repositories.store_offers import KEKS_SETTING, key_binding

revision = "0005"
down_revision = "0004"

SEALED_COLUMNS = (
    ("kek_id", sa.Text),
    ("wrapped_key", sa.LargeBinary),
    ("nonce", sa.LargeBinary),
    ("ciphertext", sa.LargeBinary),
)


def upgrade() -> None:
    for name, kind in SEALED_COLUMNS:
        op.add_column("app_store_subscription_keys", sa.Column(name, kind, nullable=True))
    keys = sa.table(
        "app_store_subscription_keys",
        sa.column("tenant_id", sa.Text),
        sa.column("private_key_pem", sa.Text),
        *(sa.column(name, kind) for name, kind in SEALED_COLUMNS),
    )
    connection = op.get_bind()
    rows = connection.execute(sa.select(keys.c.tenant_id, keys.c.private_key_pem)).all()
    if rows:
        keyring = Keyring.parse(os.environ.get(KEKS_SETTING, ""), KEKS_SETTING)
        for tenant_id, pem in rows:
            sealed = keyring.seal(pem.encode(), key_binding(tenant_id))
            connection.execute(
                keys.update()
                .where(keys.c.tenant_id == tenant_id)
                .values(
                    kek_id=sealed.kek_id,
                    wrapped_key=sealed.wrapped_key,
                    nonce=sealed.nonce,
                    ciphertext=sealed.ciphertext,
                )
            )
    for name, _ in SEALED_COLUMNS:
        op.alter_column("app_store_subscription_keys", name, nullable=False)
    op.drop_column("app_store_subscription_keys", "private_key_pem")


def downgrade() -> None:
    # NOTE: sealed keys cannot come back as plaintext without the keyring; a downgrade drops them (set them again).
    op.execute("DELETE FROM app_store_subscription_keys")
    op.add_column("app_store_subscription_keys", sa.Column("private_key_pem", sa.Text, nullable=False))
    for name, _ in SEALED_COLUMNS:
        op.drop_column("app_store_subscription_keys", name)
