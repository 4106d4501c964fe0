"""Lifecycle's catalog adapter reads the tax a storefront adds on top of its prices from a real catalog."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte_lifecycle.adapters.catalog import GrpcCatalog
from azotte_lifecycle.ports import RenewalPriceQuery
from azotte_platform.context import tenant_scope
from azotte_platform.convert import from_timestamp, timestamp
from azotte_platform.enums import Channel
from azotte_platform.grpc.client import connect
from tests.integration.catalog.catalog_support import CatalogHarness, TenantStub, seed, us_storefront
from tests.integration.catalog.conftest import START


async def test_only_a_tax_exclusive_storefront_adds_its_rate(tenant: TenantStub, catalog: CatalogHarness) -> None:
    await seed(tenant)
    policies = {
        "us-tx": pb.TaxPolicy(mode=pb.TAX_MODE_EXCLUSIVE, rate="0.0825"),
        "us-vat": pb.TaxPolicy(mode=pb.TAX_MODE_INCLUSIVE, rate="0.19"),
    }
    for storefront_id, policy in policies.items():
        storefront = us_storefront(id=storefront_id, tax_policy=policy)
        await tenant.CreateStorefront(pb.CreateStorefrontRequest(storefront=storefront, request_id=storefront_id))
        await tenant.SchedulePrice(
            pb.SchedulePriceRequest(
                plan_id="premium", storefront_id=storefront_id, amount_minor=1299, request_id=f"price-{storefront_id}"
            )
        )
    async with connect(catalog.address) as channel:
        prices = GrpcCatalog(channel)
        with tenant_scope(tenant.tenant_id):
            added = {
                storefront_id: (await prices.price("premium", storefront_id, Channel.WEB, START)).added_tax_rate
                for storefront_id in ("us-tx", "us-vat", "us")
            }
    assert added == {"us-tx": Decimal("0.0825"), "us-vat": Decimal(0), "us": Decimal(0)}


async def seeded_with_a_rise(tenant: TenantStub) -> datetime:
    """Premium at 1299 in "us" from START, and 1499 from ten days later (grandfathered): that moment."""
    await seed(tenant)
    rise = START + timedelta(days=10)
    await tenant.SchedulePrice(
        pb.SchedulePriceRequest(
            plan_id="premium",
            storefront_id="us",
            amount_minor=1499,
            effective_time=timestamp(rise),
            existing_subscribers=pb.EXISTING_SUBSCRIBERS_GRANDFATHERED,
            request_id="rise",
        )
    )
    return rise


async def test_renewal_prices_resolve_together_each_for_its_start_and_none_where_unpriced(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    rise = await seeded_with_a_rise(tenant)
    renewal = START + timedelta(days=40)
    queries = [
        RenewalPriceQuery("premium", "us", Channel.WEB, renewal, START),  # bought before the rise
        RenewalPriceQuery("premium", "us", Channel.WEB, renewal, rise),  # bought at it
        RenewalPriceQuery("premium", "nowhere", Channel.WEB, renewal, START),  # no such storefront
    ]
    async with connect(catalog.address) as channel:
        with tenant_scope(tenant.tenant_id):
            prices = await GrpcCatalog(channel).renewal_prices(queries)
    assert [p and p.amount_minor for p in prices] == [1299, 1499, None]


async def test_a_price_is_kept_until_the_next_scheduled_version_takes_effect(
    tenant: TenantStub, catalog: CatalogHarness
) -> None:
    rise = await seeded_with_a_rise(tenant)
    async with connect(catalog.address) as channel:
        prices = GrpcCatalog(channel, plan_ttl_seconds=60)
        asked: list[datetime] = []
        resolve = prices._stub.ResolvePrice

        async def counted(request: pb.ResolvePriceRequest) -> pb.ResolvePriceResponse:
            asked.append(from_timestamp(request.at_time))
            return await resolve(request)

        prices._stub.ResolvePrice = counted  # type: ignore[assignment]
        moments = (START, START + timedelta(days=9), rise, rise + timedelta(days=1), START)
        with tenant_scope(tenant.tenant_id):
            amounts = [(await prices.price("premium", "us", Channel.WEB, at)).amount_minor for at in moments]
    assert amounts == [1299, 1299, 1499, 1499, 1299]
    assert asked == [START, rise, START]  # a moment before the kept version's start asks again
