"""Repositories of tenants and API keys over one connection (SQLAlchemy Core)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import api_keys, tenants
from azotte_gateway.domain.api_keys import ApiKey
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_platform.paging import Page, decode_page_token, paginate


def _tenant(row: Any) -> Tenant:
    return Tenant(
        id=row.tenant_id,
        name=row.name,
        mode=TenantMode(row.mode),
        operator_refund_limit_minor=row.operator_refund_limit_minor,
        is_root=row.is_root,
    )


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


class TenantRepository:
    """Tenants, by id."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, tenant: Tenant, create_time: Any) -> bool:
        """Insert the tenant; False when its id is taken."""
        result = await self._connection.execute(
            insert(tenants)
            .values(
                tenant_id=tenant.id,
                name=tenant.name,
                mode=tenant.mode.value,
                is_root=tenant.is_root,
                operator_refund_limit_minor=tenant.operator_refund_limit_minor,
                create_time=create_time,
            )
            .on_conflict_do_nothing()
            .returning(tenants.c.tenant_id)
        )
        return result.first() is not None

    async def get(self, tenant_id: str) -> Tenant | None:
        row = (await self._connection.execute(sa.select(tenants).where(tenants.c.tenant_id == tenant_id))).first()
        return _tenant(row) if row else None

    async def any_exists(self) -> bool:
        """True once any tenant has been created."""
        query = sa.select(sa.literal(1)).select_from(tenants).limit(1)
        return (await self._connection.execute(query)).first() is not None

    async def lock_bootstrap(self) -> None:
        """Serialize first-start bootstraps of several replicas until the transaction ends."""
        await self._connection.execute(sa.select(sa.func.pg_advisory_xact_lock(7_305_101)))


class ApiKeyRepository:
    """API keys: looked up by their visible prefix, listed and revoked within a tenant."""

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
        """The key with this prefix, whatever its tenant (the key names its tenant)."""
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

    async def list(self, tenant_id: str, *, size: int, page_token: str, show_revoked: bool) -> Page:
        """One page of the tenant's keys, oldest first."""
        query_key = ("api_keys", tenant_id, show_revoked)
        after = decode_page_token(page_token, query_key)
        query = sa.select(api_keys).where(api_keys.c.tenant_id == tenant_id)
        if not show_revoked:
            query = query.where(api_keys.c.revoke_time.is_(None))
        if after is not None:
            query = query.where(api_keys.c.api_key_id > after[0])
        rows = (await self._connection.execute(query.order_by(api_keys.c.api_key_id).limit(size + 1))).all()
        page = paginate(rows, size, lambda row: [row.api_key_id], query_key)
        return Page([_api_key(row) for row in page.items], page.next_page_token)
