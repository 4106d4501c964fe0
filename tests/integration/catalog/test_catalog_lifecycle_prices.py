"""Lifecycle's catalog adapter reads the tax a storefront adds on top of its prices from a real catalog."""

from __future__ import annotations

from decimal import Decimal

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte_lifecycle.adapters.catalog import GrpcCatalog
from azotte_platform.context import tenant_scope
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
