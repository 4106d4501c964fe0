"""Portal users, their sessions and failed sign-ins over PostgreSQL (hashes only, never passwords or tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import portal_sessions, portal_sign_in_failures, portal_users
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.portal_users import LOCKOUT_WINDOW, PortalSession, PortalUser
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest


def _user(row: Any) -> PortalUser:
    return PortalUser(
        tenant_id=row.tenant_id,
        id=row.user_id,
        email=row.email,
        role=Role(row.role),
        password_hash=row.password_hash,
        created_at=row.create_time,
        disabled_at=row.disable_time,
    )


def _session(row: Any) -> PortalSession:
    return PortalSession(
        token_hash=row.token_hash,
        tenant_id=row.tenant_id,
        user_id=row.user_id,
        csrf_token=row.csrf_token,
        created_at=row.create_time,
        last_seen_at=row.last_seen_time,
    )


class PostgresPortalUserRepository:
    """Implements `ports.PortalUserRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, user: PortalUser) -> bool:
        inserted = await self._connection.execute(
            insert(portal_users)
            .values(
                tenant_id=user.tenant_id,
                user_id=user.id,
                email=user.email,
                role=user.role.value,
                password_hash=user.password_hash,
                create_time=user.created_at,
                disable_time=user.disabled_at,
            )
            .on_conflict_do_nothing()
            .returning(portal_users.c.user_id)
        )
        return inserted.first() is not None

    async def get(self, tenant_id: str, user_id: str, *, for_update: bool = False) -> PortalUser | None:
        query = sa.select(portal_users).where(portal_users.c.tenant_id == tenant_id, portal_users.c.user_id == user_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return _user(row) if row else None

    async def by_email(self, tenant_id: str, email: str) -> PortalUser | None:
        query = sa.select(portal_users).where(portal_users.c.tenant_id == tenant_id, portal_users.c.email == email)
        row = (await self._connection.execute(query)).first()
        return _user(row) if row else None

    async def list_page(self, tenant_id: str, page: PageRequest) -> Page[PortalUser]:
        query = sa.select(portal_users).where(portal_users.c.tenant_id == tenant_id)
        after = page.after_key()
        if after is not None:
            if not isinstance(after, str):
                raise InvalidArgument.field("page_token", "is not a token this service issued")
            query = query.where(portal_users.c.email > after)
        rows = (await self._connection.execute(query.order_by(portal_users.c.email).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.email])
        return Page([_user(row) for row in cut.items], cut.next_page_token)

    async def save_disable(self, user: PortalUser) -> None:
        await self._connection.execute(
            sa.update(portal_users)
            .where(portal_users.c.tenant_id == user.tenant_id, portal_users.c.user_id == user.id)
            .values(disable_time=user.disabled_at)
        )

    async def record_failure(self, tenant_id: str, email: str, at: datetime) -> None:
        mine = (portal_sign_in_failures.c.tenant_id == tenant_id) & (portal_sign_in_failures.c.email == email)
        # NOTE: failures older than the window count for nothing, so they are dropped as new ones arrive.
        await self._connection.execute(
            sa.delete(portal_sign_in_failures).where(mine, portal_sign_in_failures.c.failure_time < at - LOCKOUT_WINDOW)
        )
        await self._connection.execute(
            portal_sign_in_failures.insert().values(tenant_id=tenant_id, email=email, failure_time=at)
        )

    async def failures_since(self, tenant_id: str, email: str, since: datetime) -> list[datetime]:
        query = sa.select(portal_sign_in_failures.c.failure_time).where(
            portal_sign_in_failures.c.tenant_id == tenant_id,
            portal_sign_in_failures.c.email == email,
            portal_sign_in_failures.c.failure_time >= since,
        )
        return list((await self._connection.execute(query)).scalars())


class PostgresPortalSessionRepository:
    """Implements `ports.PortalSessionRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, session: PortalSession) -> None:
        await self._connection.execute(
            portal_sessions.insert().values(
                token_hash=session.token_hash,
                tenant_id=session.tenant_id,
                user_id=session.user_id,
                csrf_token=session.csrf_token,
                create_time=session.created_at,
                last_seen_time=session.last_seen_at,
            )
        )

    async def get(self, token_hash: str) -> PortalSession | None:
        query = sa.select(portal_sessions).where(portal_sessions.c.token_hash == token_hash)
        row = (await self._connection.execute(query)).first()
        return _session(row) if row else None

    async def touch(self, token_hash: str, at: datetime) -> None:
        await self._connection.execute(
            sa.update(portal_sessions).where(portal_sessions.c.token_hash == token_hash).values(last_seen_time=at)
        )

    async def delete(self, token_hash: str) -> None:
        await self._connection.execute(sa.delete(portal_sessions).where(portal_sessions.c.token_hash == token_hash))

    async def delete_of_user(self, tenant_id: str, user_id: str) -> None:
        await self._connection.execute(
            sa.delete(portal_sessions).where(
                portal_sessions.c.tenant_id == tenant_id, portal_sessions.c.user_id == user_id
            )
        )
