"""Each tenant's App Store subscription key (one row per tenant), its private key sealed at rest."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.sealing import Keyring, Sealed
from azotte_promotions.adapters.tables import app_store_subscription_keys as keys
from azotte_promotions.domain.store_offers import SubscriptionKey

KEKS_SETTING = "AZOTTE_PROMOTIONS_KEKS"


def key_binding(tenant_id: str) -> str:
    """What a sealed subscription key is bound to: copied onto another tenant's row, it does not open."""
    return f"{tenant_id}/app_store_subscription_key"


class PostgresSubscriptionKeyRepository:
    """`ports.SubscriptionKeyRepository` over `app_store_subscription_keys`; the PEM is sealed under `keyring`."""

    def __init__(self, connection: AsyncConnection, keyring: Keyring):
        self._conn = connection
        self._keyring = keyring

    async def get(self, tenant_id: str) -> SubscriptionKey | None:
        """The tenant's key, unsealed (SealingKeyUnavailable when its key-encryption key is not configured)."""
        row = (await self._conn.execute(sa.select(keys).where(keys.c.tenant_id == tenant_id))).first()
        if row is None:
            return None
        sealed = Sealed(row.kek_id, bytes(row.wrapped_key), bytes(row.nonce), bytes(row.ciphertext))
        pem = self._keyring.unseal(sealed, key_binding(tenant_id)).decode()
        return SubscriptionKey(row.tenant_id, row.key_id, row.bundle_id, pem)

    async def put(self, key: SubscriptionKey, now: datetime) -> None:
        sealed = self._keyring.seal(key.private_key_pem.encode(), key_binding(key.tenant_id))
        values = {
            "key_id": key.key_id,
            "bundle_id": key.bundle_id,
            "kek_id": sealed.kek_id,
            "wrapped_key": sealed.wrapped_key,
            "nonce": sealed.nonce,
            "ciphertext": sealed.ciphertext,
        }
        upsert = insert(keys).values(tenant_id=key.tenant_id, updated_at=now, **values)
        await self._conn.execute(
            upsert.on_conflict_do_update(index_elements=["tenant_id"], set_={**values, "updated_at": now})
        )
