"""The gateway's PostgreSQL unit of work: tenants, API keys and request ids in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

from azotte_gateway.adapters.repositories.api_keys import PostgresApiKeyRepository
from azotte_gateway.adapters.repositories.app_store_apps import PostgresAppStoreAppRepository
from azotte_gateway.adapters.repositories.channel_accounts import PostgresChannelAccountRepository
from azotte_gateway.adapters.repositories.channel_inbox import PostgresChannelInboxRepository
from azotte_gateway.adapters.repositories.portal_users import (
    PostgresPortalSessionRepository,
    PostgresPortalUserRepository,
)
from azotte_gateway.adapters.repositories.revenue import PendingRevenue, PostgresRevenueRepository
from azotte_gateway.adapters.repositories.tenants import PostgresTenantRepository
from azotte_gateway.adapters.repositories.webhooks import PostgresWebhookRepository
from azotte_gateway.domain.webhooks import WebhookEndpoint
from azotte_platform.db.unit_of_work import UnitOfWork


@dataclass
class _Learnt:
    """What a transaction learnt that holds until it ends: the tenants whose revenue lock it took, the enabled
    webhook endpoints it read (a consumer applying many events in one transaction asks each once), and the
    revenue it added and writes at its commit."""

    revenue_locked: set[str] = field(default_factory=set)
    enabled_endpoints: dict[str, list[WebhookEndpoint]] = field(default_factory=dict)
    revenue_pending: PendingRevenue = field(default_factory=PendingRevenue)


class PostgresGatewayUnitOfWork(UnitOfWork):
    """Implements `ports.GatewayUnitOfWork`, `ports.WebhooksUnitOfWork` and `ports.PortalUnitOfWork`:
    `async with uow:`, use the repositories, then `commit()`."""

    _learnt: _Learnt

    async def __aenter__(self) -> Self:
        self._learnt = _Learnt()
        return await super().__aenter__()

    async def commit(self) -> None:
        await self.revenue.flush()
        await super().commit()
        self._learnt = _Learnt()

    @property
    def tenants(self) -> PostgresTenantRepository:
        return PostgresTenantRepository(self.connection)

    @property
    def api_keys(self) -> PostgresApiKeyRepository:
        return PostgresApiKeyRepository(self.connection)

    @property
    def app_store_apps(self) -> PostgresAppStoreAppRepository:
        return PostgresAppStoreAppRepository(self.connection)

    @property
    def revenue(self) -> PostgresRevenueRepository:
        return PostgresRevenueRepository(self.connection, self._learnt.revenue_locked, self._learnt.revenue_pending)

    @property
    def channel_accounts(self) -> PostgresChannelAccountRepository:
        return PostgresChannelAccountRepository(self.connection)

    @property
    def channel_inbox(self) -> PostgresChannelInboxRepository:
        return PostgresChannelInboxRepository(self.connection)

    @property
    def webhooks(self) -> PostgresWebhookRepository:
        return PostgresWebhookRepository(self.connection, self._learnt.enabled_endpoints)

    @property
    def portal_users(self) -> PostgresPortalUserRepository:
        return PostgresPortalUserRepository(self.connection)

    @property
    def portal_sessions(self) -> PostgresPortalSessionRepository:
        return PostgresPortalSessionRepository(self.connection)
