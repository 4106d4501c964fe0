"""Google Play apps, partners and partners' request ids over PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import google_play_apps, partner_request_ids, partners
from azotte_gateway.domain.channel_accounts import GooglePlayApp, Partner


def _app(row: Any) -> GooglePlayApp:
    return GooglePlayApp(
        tenant_id=row.tenant_id,
        app_id=row.app_id,
        package_name=row.package_name,
        push_audience=row.push_audience,
        push_service_account_email=row.push_service_account_email,
        service_account_key_json=row.service_account_key_json,
        storefront_id=row.storefront_id,
        create_time=row.create_time,
    )


def _partner(row: Any) -> Partner:
    return Partner(
        tenant_id=row.tenant_id,
        partner_id=row.partner_id,
        public_key_pem=row.public_key_pem,
        display_name=row.display_name,
        create_time=row.create_time,
        revenue_share_bps=row.revenue_share_bps,
    )


class PostgresChannelAccountRepository:
    """Implements `ports.ChannelAccountRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add_google_play_app(self, app: GooglePlayApp) -> bool:
        values = {column.name: getattr(app, column.name) for column in google_play_apps.c}
        statement = insert(google_play_apps).values(values).on_conflict_do_nothing()
        return (await self._connection.execute(statement.returning(google_play_apps.c.app_id))).first() is not None

    async def google_play_app(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        c = google_play_apps.c
        row = (
            await self._connection.execute(
                sa.select(google_play_apps).where(c.tenant_id == tenant_id, c.app_id == app_id)
            )
        ).first()
        return _app(row) if row else None

    async def google_play_apps(self, tenant_id: str) -> list[GooglePlayApp]:
        c = google_play_apps.c
        query = sa.select(google_play_apps).where(c.tenant_id == tenant_id).order_by(c.app_id)
        return [_app(row) for row in (await self._connection.execute(query)).all()]

    async def add_partner(self, partner: Partner) -> bool:
        values = {column.name: getattr(partner, column.name) for column in partners.c}
        statement = insert(partners).values(values).on_conflict_do_nothing()
        return (await self._connection.execute(statement.returning(partners.c.partner_id))).first() is not None

    async def partner(self, tenant_id: str, partner_id: str) -> Partner | None:
        c = partners.c
        query = sa.select(partners).where(c.tenant_id == tenant_id, c.partner_id == partner_id)
        row = (await self._connection.execute(query)).first()
        return _partner(row) if row else None

    async def partners(self, tenant_id: str) -> list[Partner]:
        c = partners.c
        query = sa.select(partners).where(c.tenant_id == tenant_id).order_by(c.partner_id)
        return [_partner(row) for row in (await self._connection.execute(query)).all()]

    async def claim_partner_request(
        self, tenant_id: str, partner_id: str, jti: str, now: datetime, forget_before: datetime
    ) -> bool:
        c = partner_request_ids.c
        await self._connection.execute(
            sa.delete(partner_request_ids).where(
                c.tenant_id == tenant_id, c.partner_id == partner_id, c.seen_time < forget_before
            )
        )
        statement = (
            insert(partner_request_ids)
            .values(tenant_id=tenant_id, partner_id=partner_id, jti=jti, seen_time=now)
            .on_conflict_do_nothing()
            .returning(c.jti)
        )
        return (await self._connection.execute(statement)).first() is not None
