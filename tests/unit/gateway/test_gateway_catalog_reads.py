"""A checkout reads the storefront, the plan and the price once per tenant until the catalog changes, the price
only until its next version takes effect."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import ChannelNotEnabled
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform import convert
from azotte_platform.errors import NotFound
from tests.unit.gateway.fakes import PLANS, STOREFRONT, FakeCatalog, FakeSuite, caller
from tests.unit.gateway.test_gateway_use_cases_checkout import checkout_request

OTHER_TENANT = Tenant("other-shop", "Other", TenantMode.LIVE)


class CountingCatalog(FakeCatalog):
    """The fake catalog, counting the calls of each method; `UpdateStorefront` replaces the storefront."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.storefront = cat.Storefront()
        self.storefront.CopyFrom(STOREFRONT)
        self.next_change: datetime | None = None

    async def GetStorefront(self, request: cat.GetStorefrontRequest) -> cat.GetStorefrontResponse:
        self.calls["GetStorefront"] += 1
        if request.id != self.storefront.id:
            raise NotFound(f"storefront {request.id!r} not found")
        return cat.GetStorefrontResponse(storefront=self.storefront)

    async def GetPlan(self, request: cat.GetPlanRequest) -> cat.GetPlanResponse:
        self.calls["GetPlan"] += 1
        return await super().GetPlan(request)

    async def ResolvePrice(self, request: cat.ResolvePriceRequest) -> cat.ResolvePriceResponse:
        self.calls["ResolvePrice"] += 1
        answer = await super().ResolvePrice(request)
        if self.next_change is not None:
            answer.next_change_time.CopyFrom(convert.timestamp(self.next_change))
        return answer

    async def UpdateStorefront(self, request: cat.UpdateStorefrontRequest) -> cat.UpdateStorefrontResponse:
        self.storefront.CopyFrom(request.storefront)
        return cat.UpdateStorefrontResponse(storefront=self.storefront)


@pytest.fixture
def catalog() -> CountingCatalog:
    return CountingCatalog()


@pytest.fixture
def suite(catalog: CountingCatalog) -> FakeSuite:
    suite = FakeSuite()
    suite.catalog = catalog
    return suite


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


async def check_out(gateway: Gateway, customer_id: str, tenant: Tenant | None = None, **fields: object) -> None:
    who = caller(tenant=tenant) if tenant is not None else caller()
    request = checkout_request(request_id=f"checkout-{customer_id}", customer_id=customer_id, **fields)
    with who.scope():
        await gateway.checkout.checkout(who, request)


async def test_checkouts_of_a_tenant_read_the_storefront_plan_and_price_once(
    gateway: Gateway, catalog: CountingCatalog
) -> None:
    await check_out(gateway, "cus_1")
    await check_out(gateway, "cus_2")
    assert (catalog.calls["GetStorefront"], catalog.calls["ResolvePrice"]) == (1, 1)
    plans = catalog.calls["GetPlan"]
    await check_out(gateway, "cus_3", locale="de-DE")  # the plan's texts in another language are read once
    await check_out(gateway, "cus_4", locale="de-DE")
    assert catalog.calls["GetPlan"] == plans + 1
    await check_out(gateway, "cus_5", tenant=OTHER_TENANT)  # another tenant reads its own
    assert catalog.calls["GetStorefront"] == 2


async def test_a_storefront_changed_through_the_gateway_is_read_again_by_the_next_checkout(
    gateway: Gateway, catalog: CountingCatalog
) -> None:
    await check_out(gateway, "cus_1")
    changed = cat.Storefront()
    changed.CopyFrom(STOREFRONT)
    changed.ClearField("channels")
    changed.channels.append(channel_pb2.CHANNEL_APP_STORE)
    who = caller()
    with who.scope():
        await gateway.catalog.update_storefront(
            who,
            ca.UpdateStorefrontRequest(request_id="r", storefront=changed, update_mask=FieldMask(paths=["channels"])),
        )
    with pytest.raises(ChannelNotEnabled):
        await check_out(gateway, "cus_2")


async def test_the_catalogs_event_drops_the_tenants_answers_and_a_caller_cannot_change_the_kept_ones(
    gateway: Gateway, catalog: CountingCatalog
) -> None:
    reads = gateway.checkout.catalog_reads
    with caller().scope():
        first = await reads.storefront("us")
        first.storefront.channels.append(channel_pb2.CHANNEL_GOOGLE_PLAY)  # the caller's own copy
        assert (await reads.storefront("us")).storefront.channels == STOREFRONT.channels
        reads.storefronts.invalidate(caller().principal.tenant_id)  # what `follow_changes` does on a catalog event
        await reads.storefront("us")
    assert catalog.calls["GetStorefront"] == 2


async def test_a_missing_plan_is_not_kept(gateway: Gateway, catalog: CountingCatalog) -> None:
    reads = gateway.checkout.catalog_reads
    preference = cat.TextPreference()
    with caller().scope():
        for _ in range(2):
            with pytest.raises(NotFound):
                await reads.plan("unknown", preference)
        assert (await reads.plan("basic", preference)).plan == PLANS["basic"]
    assert catalog.calls["GetPlan"] == 3


async def test_a_price_is_asked_again_once_its_next_version_takes_effect(
    suite: FakeSuite, gateway: Gateway, catalog: CountingCatalog
) -> None:
    catalog.next_change = suite.clock.now() + timedelta(hours=1)
    await check_out(gateway, "cus_1")
    suite.clock.advance(timedelta(minutes=59))
    await check_out(gateway, "cus_2")
    assert catalog.calls["ResolvePrice"] == 1
    suite.clock.advance(timedelta(minutes=1))
    await check_out(gateway, "cus_3")
    assert catalog.calls["ResolvePrice"] == 2
