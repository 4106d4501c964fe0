"""API keys over PostgreSQL: the hash and the visible prefix, never the secret."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import api_keys
from azotte_gateway.domain.api_keys import ApiKey
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import TenantMode
from azotte_platform.paging import Page, PageRequest


def _api_key(row: Any) -> ApiKey:
    return ApiKey(
        id=row.api_key_id,
        tenant_id=row.tenant_id,
        name=row.name,
        role=Role(row.role),
        mode=TenantMode(row.mode),
        prefix=row.prefix,
        secret_hash=row.secret_hash,
        created_at=row.create_time,
        expires_at=row.expire_time,
        revoked_at=row.revoke_time,
    )


class PostgresApiKeyRepository:
    """Implements `ports.ApiKeyRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, key: ApiKey) -> None:
        await self._connection.execute(
            api_keys.insert().values(
                tenant_id=key.tenant_id,
                api_key_id=key.id,
                name=key.name,
                role=key.role.value,
                mode=key.mode.value,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                create_time=key.created_at,
                expire_time=key.expires_at,
                revoke_time=key.revoked_at,
            )
        )

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        row = (await self._connection.execute(sa.select(api_keys).where(api_keys.c.prefix == prefix))).first()
        return _api_key(row) if row else None

    async def get(self, tenant_id: str, api_key_id: str, *, for_update: bool = False) -> ApiKey | None:
        query = sa.select(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.api_key_id == api_key_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return _api_key(row) if row else None

    async def save_revocation(self, key: ApiKey) -> None:
        await self._connection.execute(
            sa.update(api_keys)
            .where(api_keys.c.tenant_id == key.tenant_id, api_keys.c.api_key_id == key.id)
            .values(revoke_time=key.revoked_at)
        )

    async def list_page(self, tenant_id: str, page: PageRequest, *, show_revoked: bool) -> Page[ApiKey]:
        query = sa.select(api_keys).where(api_keys.c.tenant_id == tenant_id)
        if not show_revoked:
            query = query.where(api_keys.c.revoke_time.is_(None))
        if page.after is not None:
            query = query.where(api_keys.c.api_key_id > page.after_key())
        rows = (await self._connection.execute(query.order_by(api_keys.c.api_key_id).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.api_key_id])
        return Page([_api_key(row) for row in cut.items], cut.next_page_token)
