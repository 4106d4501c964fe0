"""What the gateway's use cases need: its repositories and unit of work, the services behind it, channel adapters.

`adapters/` implements them (PostgreSQL, gRPC stubs, channel adapters); the unit tests' fakes
implement them in memory. The peers are typed as the generated async stubs, so a fake is a plain
object with the methods a test uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.api_keys import ApiKey, ApiKeyListing
from azotte_gateway.domain.channels import AppStoreApp, RawNotification, TrustedNotification
from azotte_gateway.domain.tenants import Tenant
from azotte_platform.enums import Channel
from azotte_platform.paging import Page, PageRequest
from azotte_platform.ports import AbstractUnitOfWork

if TYPE_CHECKING:
    from azotte.catalog.v1.catalog_pb2_grpc import CatalogServiceAsyncStub
    from azotte.entitlement.v1.entitlement_pb2_grpc import EntitlementServiceAsyncStub
    from azotte.lifecycle.v1.lifecycle_pb2_grpc import LifecycleServiceAsyncStub
    from azotte.payments.v1.payments_pb2_grpc import PaymentsServiceAsyncStub
    from azotte.promotions.v1.promotions_pb2_grpc import PromotionsServiceAsyncStub


class TenantRepository(Protocol):
    """Tenants, by id."""

    async def add(self, tenant: Tenant, create_time: datetime) -> bool:
        """Insert the tenant; False when its id is taken."""
        ...

    async def get(self, tenant_id: str) -> Tenant | None:
        """The tenant, or None."""
        ...

    async def any_exists(self) -> bool:
        """True once any tenant has been created."""
        ...

    async def lock_bootstrap(self) -> None:
        """Serialize first-start bootstraps of several replicas until the transaction ends."""
        ...


class ApiKeyRepository(Protocol):
    """API keys: looked up by their visible prefix, listed and revoked within a tenant."""

    async def add(self, key: ApiKey) -> None:
        """Insert a new key."""
        ...

    async def by_prefix(self, prefix: str) -> ApiKey | None:
        """The key with this prefix, whatever its tenant (the key names its tenant)."""
        ...

    async def get(self, tenant_id: str, api_key_id: str, *, for_update: bool = False) -> ApiKey | None:
        """One key of the tenant, optionally locked until the transaction ends."""
        ...

    async def save_revocation(self, key: ApiKey) -> None:
        """Store the key's revocation time."""
        ...

    async def list_page(self, tenant_id: str, page: PageRequest, listing: ApiKeyListing) -> Page[ApiKey]:
        """One page of the tenant's keys that `listing` shows, in its order."""
        ...


class AppStoreAppRepository(Protocol):
    """A tenant's App Store apps, by id."""

    async def add(self, app: AppStoreApp) -> bool:
        """Insert the app; False when the tenant already has one of its id."""
        ...

    async def get(self, tenant_id: str, app_id: str) -> AppStoreApp | None:
        """The tenant's app, or None."""
        ...

    async def list(self, tenant_id: str) -> list[AppStoreApp]:
        """Every app of the tenant, by id."""
        ...


class GatewayUnitOfWork(AbstractUnitOfWork, Protocol):
    """One transaction over tenants, API keys and the request ids the gateway answers itself."""

    @property
    def tenants(self) -> TenantRepository: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def app_store_apps(self) -> AppStoreAppRepository: ...


class Peers(Protocol):
    """The services the gateway fronts; the caller's tenant travels in the request context."""

    @property
    def catalog(self) -> CatalogServiceAsyncStub: ...

    @property
    def lifecycle(self) -> LifecycleServiceAsyncStub: ...

    @property
    def payments(self) -> PaymentsServiceAsyncStub: ...

    @property
    def entitlement(self) -> EntitlementServiceAsyncStub: ...

    @property
    def promotions(self) -> PromotionsServiceAsyncStub: ...


class ChannelNotifications(Protocol):
    """The registered channel adapters: each verifies and normalizes its own channel's notifications."""

    async def verify(self, channel: Channel, raw: RawNotification) -> TrustedNotification:
        """The notification's trusted payload; ChannelNotificationRejected when it fails verification."""
        ...

    async def normalize(self, channel: Channel, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        """The lifecycle channel events the notification stands for, in order."""
        ...
