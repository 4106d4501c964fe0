"""The gateway's unit of work: tenants and API keys in one transaction."""

from __future__ import annotations

from azotte_gateway.adapters.repositories import ApiKeyRepository, TenantRepository
from azotte_platform.db.unit_of_work import UnitOfWork


class GatewayUnitOfWork(UnitOfWork):
    """A transaction over the gateway's repositories."""

    @property
    def tenants(self) -> TenantRepository:
        return TenantRepository(self.connection)

    @property
    def api_keys(self) -> ApiKeyRepository:
        return ApiKeyRepository(self.connection)
