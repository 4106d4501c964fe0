"""In-memory fakes of the catalog ports: the catalog repository and the unit of work over it.

`FakeCatalogUnitOfWork` keeps what it committed: each `async with` works on a copy of `data` that
`commit()` keeps and leaving without it drops, as a transaction would. Events are translated by the
real proto adapter, so `published` holds what PostgreSQL's outbox would. One instance serves one
`async with` at a time (`TenantCatalogs(lambda: uow)`, `Units(lambda: uow)`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Self, TypeVar

from azotte_catalog.adapters.proto import outbox_event
from azotte_catalog.domain.catalog import Catalog, StoredCatalog, Times
from azotte_catalog.domain.feature import Feature, FeatureKind
from azotte_catalog.domain.mapping import ChannelMapping
from azotte_catalog.domain.plan import BillingInterval, FeatureGrant, IntervalUnit, Plan
from azotte_catalog.domain.price import Price
from azotte_catalog.domain.storefront import PaymentRouting, Storefront, TaxMode, TaxPolicy
from azotte_catalog.domain.texts import DEFAULT_LOCALE
from azotte_catalog.ports import DuePrice
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_catalog.service_layer.writer import CatalogWriter
from azotte_platform.clock import Clock, TenantTimes
from azotte_platform.enums import Channel
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

Key = tuple[str, str]  # (tenant_id, resource id)
R = TypeVar("R")
T = TypeVar("T")


@dataclass
class CatalogData:
    """What the catalog database holds, in memory."""

    storefronts: dict[Key, Storefront] = field(default_factory=dict)
    features: dict[Key, Feature] = field(default_factory=dict)
    plans: dict[Key, Plan] = field(default_factory=dict)
    mappings: dict[Key, ChannelMapping] = field(default_factory=dict)
    prices: dict[Key, Price] = field(default_factory=dict)
    activated_at: dict[Key, datetime | None] = field(default_factory=dict)
    times: dict[tuple[str, str, str], Times] = field(default_factory=dict)
    default_locales: dict[str, str] = field(default_factory=dict)

    def copy(self) -> CatalogData:
        """A copy to change in a transaction (the domain objects are immutable)."""
        return replace(self, **{f.name: dict(getattr(self, f.name)) for f in fields(self)})


class InMemoryCatalogRepository:
    """`ports.CatalogRepository` over `CatalogData`."""

    def __init__(self, data: CatalogData):
        self.data = data

    async def lock_tenant(self, tenant_id: str) -> None:
        """Nothing to lock: one unit of work runs at a time."""

    async def load(self, tenant_id: str) -> StoredCatalog:
        def of_tenant(rows: dict[Key, R]) -> list[R]:
            return [row for (tenant, _), row in sorted(rows.items(), key=lambda item: item[0]) if tenant == tenant_id]

        catalog = Catalog(
            storefronts=tuple(of_tenant(self.data.storefronts)),
            features=tuple(of_tenant(self.data.features)),
            plans=tuple(of_tenant(self.data.plans)),
            prices=tuple(of_tenant(self.data.prices)),
            mappings=tuple(of_tenant(self.data.mappings)),
            default_locale=self.data.default_locales.get(tenant_id, DEFAULT_LOCALE),
        )
        times = {(kind, rid): t for (tenant, kind, rid), t in self.data.times.items() if tenant == tenant_id}
        return StoredCatalog(catalog, times)

    def _touch(self, tenant_id: str, kind: str, resource_id: str, now: datetime) -> None:
        created = self.data.times.get((tenant_id, kind, resource_id), (now, now))[0]
        self.data.times[(tenant_id, kind, resource_id)] = (created, now)

    async def save_storefront(self, tenant_id: str, storefront: Storefront, now: datetime) -> None:
        self.data.storefronts[(tenant_id, storefront.id)] = storefront
        self._touch(tenant_id, "storefront", storefront.id, now)

    async def save_feature(self, tenant_id: str, feature: Feature, now: datetime) -> None:
        self.data.features[(tenant_id, feature.key)] = feature
        self._touch(tenant_id, "feature", feature.key, now)

    async def save_plan(self, tenant_id: str, plan: Plan, now: datetime) -> None:
        self.data.plans[(tenant_id, plan.id)] = plan
        self._touch(tenant_id, "plan", plan.id, now)

    async def save_default_locale(self, tenant_id: str, locale: str, now: datetime) -> None:
        self.data.default_locales[tenant_id] = locale

    async def save_mapping(self, tenant_id: str, mapping: ChannelMapping, now: datetime) -> None:
        self.data.mappings[(tenant_id, mapping.id)] = mapping
        self._touch(tenant_id, "channel_mapping", mapping.id, now)

    async def add_price(self, tenant_id: str, price: Price, activated_at: datetime | None) -> None:
        assert (tenant_id, price.id) not in self.data.prices, "price versions are never replaced"
        self.data.prices[(tenant_id, price.id)] = price
        self.data.activated_at[(tenant_id, price.id)] = activated_at

    async def delete_price(self, tenant_id: str, price_id: str) -> None:
        if self.data.activated_at.get((tenant_id, price_id)) is None:
            self.data.prices.pop((tenant_id, price_id), None)
            self.data.activated_at.pop((tenant_id, price_id), None)

    async def previous_version(self, tenant_id: str, price: Price) -> str:
        earlier = [
            p
            for (tenant, _), p in self.data.prices.items()
            if tenant == tenant_id and p.key == price.key and p.effective_from < price.effective_from
        ]
        return max(earlier, key=lambda p: p.effective_from).id if earlier else ""

    async def claim_due_prices(self, times: TenantTimes, limit: int) -> list[DuePrice]:
        due = [
            DuePrice(tenant, price)
            for (tenant, price_id), price in self.data.prices.items()
            if self.data.activated_at[(tenant, price_id)] is None and price.effective_from <= times.of(tenant)
        ]
        return sorted(due, key=lambda d: (d.price.effective_from, d.tenant_id, d.price.id))[:limit]

    async def mark_activated(self, tenant_id: str, price_id: str, now: datetime) -> None:
        self.data.activated_at[(tenant_id, price_id)] = now

    async def next_activation_in(self, times: TenantTimes) -> timedelta | None:
        activated = self.data.activated_at
        pending = [p.effective_from - times.of(k[0]) for k, p in self.data.prices.items() if activated[k] is None]
        return min(pending, default=None)


class FakeCatalogUnitOfWork(FakeUnitOfWork):
    """`ports.CatalogUnitOfWork` in memory: `data` is what committed units of work left behind."""

    def __init__(self, clock: Clock, data: CatalogData | None = None, idempotency: InMemoryIdempotency | None = None):
        super().__init__(clock, idempotency, outbox_event)
        self.data = data or CatalogData()
        self.catalog = InMemoryCatalogRepository(self.data.copy())

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.catalog = InMemoryCatalogRepository(self.data.copy())
        return self

    async def commit(self) -> None:
        self.data = self.catalog.data.copy()
        await super().commit()


async def write(
    uow: FakeCatalogUnitOfWork,
    catalogs: TenantCatalogs,
    tenant_id: str,
    change: Callable[[CatalogWriter], Awaitable[T]],
) -> T:
    """Run one change on the tenant's catalog, as a servicer's work does, and commit it."""
    async with uow:
        result = await change(await catalogs.open(uow, tenant_id))
        await uow.commit()
    return result


# A small catalog to change: a US storefront, an HD feature and a premium plan granting it.


def us_storefront(**changes: Any) -> Storefront:
    storefront = Storefront(
        id="us",
        name="United States",
        country="US",
        currency="USD",
        tax=TaxPolicy(TaxMode.EXCLUSIVE, Decimal(0)),
        channels=frozenset({Channel.WEB, Channel.APP_STORE}),
        routing=PaymentRouting(fallback=("stripe",)),
    )
    return replace(storefront, **changes)


def hd_feature() -> Feature:
    return Feature(key="hd_streaming", name="HD", kind=FeatureKind.BOOLEAN)


def premium_plan(**changes: Any) -> Plan:
    plan = Plan(
        id="premium",
        name="Premium",
        family="ott",
        rank=30,
        interval=BillingInterval(IntervalUnit.MONTH),
        grants=(FeatureGrant("hd_streaming"),),
    )
    return replace(plan, **changes)
