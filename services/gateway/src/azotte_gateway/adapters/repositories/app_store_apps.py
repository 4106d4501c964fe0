"""App Store apps over PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import app_store_apps
from azotte_gateway.domain.channels import AppStoreApp, AppStoreEnvironment, SealedServerApiKey
from azotte_platform.sealing import Sealed


def _server_api(row: Any) -> SealedServerApiKey | None:
    if row.server_api_key_id is None:
        return None
    sealed = Sealed(
        row.server_api_kek_id,
        bytes(row.server_api_wrapped_key),
        bytes(row.server_api_nonce),
        bytes(row.server_api_ciphertext),
    )
    return SealedServerApiKey(row.server_api_issuer_id, row.server_api_key_id, sealed)


def _server_api_values(key: SealedServerApiKey | None) -> dict[str, Any]:
    if key is None:
        return {}
    return {
        "server_api_issuer_id": key.issuer_id,
        "server_api_key_id": key.key_id,
        "server_api_kek_id": key.private_key.kek_id,
        "server_api_wrapped_key": key.private_key.wrapped_key,
        "server_api_nonce": key.private_key.nonce,
        "server_api_ciphertext": key.private_key.ciphertext,
    }


def _app(row: Any) -> AppStoreApp:
    return AppStoreApp(
        tenant_id=row.tenant_id,
        app_id=row.app_id,
        bundle_id=row.bundle_id,
        environment=AppStoreEnvironment(row.environment),
        root_certificate_pem=row.root_certificate_pem,
        app_apple_id=row.app_apple_id,
        storefront_id=row.storefront_id,
        create_time=row.create_time,
        server_api=_server_api(row),
    )


class PostgresAppStoreAppRepository:
    """Implements `ports.AppStoreAppRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, app: AppStoreApp) -> bool:
        result = await self._connection.execute(
            insert(app_store_apps)
            .values(
                tenant_id=app.tenant_id,
                app_id=app.app_id,
                bundle_id=app.bundle_id,
                environment=app.environment.value,
                root_certificate_pem=app.root_certificate_pem,
                app_apple_id=app.app_apple_id,
                storefront_id=app.storefront_id,
                create_time=app.create_time,
                **_server_api_values(app.server_api),
            )
            .on_conflict_do_nothing()
            .returning(app_store_apps.c.app_id)
        )
        return result.first() is not None

    async def get(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        query = sa.select(app_store_apps).where(
            app_store_apps.c.tenant_id == tenant_id, app_store_apps.c.app_id == app_id
        )
        row = (await self._connection.execute(query)).first()
        return _app(row) if row else None

    async def list(self, tenant_id: str) -> list[AppStoreApp]:
        query = (
            sa.select(app_store_apps).where(app_store_apps.c.tenant_id == tenant_id).order_by(app_store_apps.c.app_id)
        )
        return [_app(row) for row in (await self._connection.execute(query)).all()]
