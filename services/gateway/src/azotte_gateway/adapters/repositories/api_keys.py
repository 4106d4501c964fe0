"""API keys over PostgreSQL: the hash and the visible prefix, never the secret."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import api_keys
from azotte_gateway.domain.api_keys import ApiKey, ApiKeyListing
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import TenantMode
from azotte_platform.errors import InvalidArgument
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

    async def list_page(self, tenant_id: str, page: PageRequest, listing: ApiKeyListing) -> Page[ApiKey]:
        query = sa.select(api_keys).where(api_keys.c.tenant_id == tenant_id)
        if listing.role is not None:
            query = query.where(api_keys.c.role == listing.role.value)
        if listing.revoked is not None:
            revoked = api_keys.c.revoke_time.is_not(None)
            query = query.where(revoked if listing.revoked else sa.not_(revoked))
        keys = [(_ORDER_COLUMNS[name], desc) for name, desc in listing.order] + [(api_keys.c.api_key_id, False)]
        if page.after is not None:
            query = query.where(_after(keys, _token_values(listing, page.after)))
        order = [column.desc() if desc else column.asc() for column, desc in keys]
        rows = (await self._connection.execute(query.order_by(*order).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [_token_value(row, name) for name, _ in listing.order] + [row.api_key_id])
        return Page([_api_key(row) for row in cut.items], cut.next_page_token)


_ORDER_COLUMNS = {"create_time": api_keys.c.create_time, "display_name": api_keys.c.name, "role": api_keys.c.role}


def _token_value(row: Any, name: str) -> str:
    value = getattr(row, _ORDER_COLUMNS[name].name)
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _token_values(listing: ApiKeyListing, after: list[Any]) -> list[Any]:
    """A page token's sort key in the columns' types, or INVALID_ARGUMENT naming `page_token`."""
    names = [name for name, _ in listing.order]
    if len(after) != len(names) + 1 or not all(isinstance(value, str) for value in after):
        raise InvalidArgument.field("page_token", "is not a token this service issued")
    try:
        return [datetime.fromisoformat(v) if n == "create_time" else v for n, v in zip(names, after, strict=False)] + [
            after[-1]
        ]
    except ValueError as error:
        raise InvalidArgument.field("page_token", "is not a token this service issued") from error


def _after(keys: Sequence[tuple[sa.ColumnElement[Any], bool]], values: list[Any]) -> sa.ColumnElement[bool]:
    """Rows after `values` in the order of `keys` (keyset pagination in mixed directions)."""
    clauses = []
    for index, (column, desc) in enumerate(keys):
        equal = [keys[i][0] == values[i] for i in range(index)]
        clauses.append(sa.and_(*equal, column < values[index] if desc else column > values[index]))
    return sa.or_(*clauses)
