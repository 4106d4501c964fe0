"""Storefronts, features, plans, prices and channel mappings through CatalogService, with their errors."""

from __future__ import annotations

from datetime import timedelta

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.common.v1 import channel_pb2
from tests.integration.catalog.catalog_support import (
    CatalogHarness,
    TenantStub,
    invalid_fields,
    premium_plan,
    rejected,
    seed,
    us_storefront,
)


async def test_a_created_catalog_reads_back_and_resolves(tenant: TenantStub) -> None:
    await seed(tenant)

    storefront = (await tenant.GetStorefront(pb.GetStorefrontRequest(id="us"))).storefront
    assert (storefront.currency_code, storefront.currency_exponent) == ("USD", 2)
    assert storefront.create_time.seconds > 0
    plan = (await tenant.GetPlan(pb.GetPlanRequest(id="premium"))).plan
    assert plan.state == pb.PLAN_STATE_ACTIVE
    assert [g.feature_key for g in plan.feature_grants] == ["hd_streaming"]
    resolved = await tenant.ResolvePrice(
        pb.ResolvePriceRequest(plan_id="premium", storefront_id="us", channel=channel_pb2.CHANNEL_WEB)
    )
    assert (resolved.amount.currency_code, resolved.amount.amount_minor) == ("USD", 1299)
    assert resolved.tax_policy.mode == pb.TAX_MODE_EXCLUSIVE
    assert not resolved.channel_override


async def test_a_channel_price_overrides_the_storefront_default(tenant: TenantStub) -> None:
    await seed(tenant)
    await tenant.SchedulePrice(
        pb.SchedulePriceRequest(
            plan_id="premium",
            storefront_id="us",
            channel=channel_pb2.CHANNEL_APP_STORE,
            amount_minor=1499,
            request_id="app-store-price",
        )
    )

    on_store = await tenant.ResolvePrice(
        pb.ResolvePriceRequest(plan_id="premium", storefront_id="us", channel=channel_pb2.CHANNEL_APP_STORE)
    )
    on_web = await tenant.ResolvePrice(pb.ResolvePriceRequest(plan_id="premium", storefront_id="us"))
    assert (on_store.amount.amount_minor, on_store.channel_override) == (1499, True)
    assert (on_web.amount.amount_minor, on_web.channel_override) == (1299, False)


async def test_bad_input_is_rejected_naming_the_field(tenant: TenantStub) -> None:
    await seed(tenant)

    assert "storefront.currency_code" in await invalid_fields(
        tenant.CreateStorefront(
            pb.CreateStorefrontRequest(storefront=us_storefront(id="xx", currency_code="XYZ"), request_id="r1")
        )
    )
    unknown_feature = premium_plan(id="gold", feature_grants=[pb.FeatureGrant(feature_key="teleport")])
    assert await invalid_fields(tenant.CreatePlan(pb.CreatePlanRequest(plan=unknown_feature, request_id="r2"))) == [
        "plan.feature_grants[0].feature_key"
    ]
    assert "amount_minor" in await invalid_fields(
        tenant.SchedulePrice(
            pb.SchedulePriceRequest(plan_id="premium", storefront_id="us", amount_minor=-1, request_id="r3")
        )
    )
    assert await invalid_fields(
        tenant.SchedulePrice(
            pb.SchedulePriceRequest(plan_id="premium", storefront_id="mars", amount_minor=100, request_id="r4")
        )
    ) == ["storefront_id"]
    assert "effective_time" in await invalid_fields(
        tenant.SchedulePrice(
            pb.SchedulePriceRequest(plan_id="premium", storefront_id="us", amount_minor=999, request_id="r5")
        )
    )
    assert await invalid_fields(
        tenant.CreatePlan(pb.CreatePlanRequest(plan=premium_plan(id="gold"), request_id=""))
    ) == ["request_id"]


async def test_duplicate_ids_are_already_exists(tenant: TenantStub) -> None:
    await seed(tenant)

    error = await rejected(
        tenant.CreateStorefront(pb.CreateStorefrontRequest(storefront=us_storefront(), request_id="again")),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    assert error.reason == "STOREFRONT_ALREADY_EXISTS"
    assert "storefront.id" in error.message
    error = await rejected(
        tenant.CreatePlan(pb.CreatePlanRequest(plan=premium_plan(), request_id="again")),
        grpc.StatusCode.ALREADY_EXISTS,
    )
    assert error.reason == "PLAN_ALREADY_EXISTS"


async def test_update_with_a_mask_changes_only_the_masked_fields(tenant: TenantStub) -> None:
    await seed(tenant)

    patch = pb.Plan(id="premium", display_name="Premium+", rank=99)
    updated = await tenant.UpdatePlan(
        pb.UpdatePlanRequest(plan=patch, update_mask=FieldMask(paths=["display_name"]), request_id="u1")
    )
    assert (updated.plan.display_name, updated.plan.rank) == ("Premium+", 30)
    assert (await tenant.GetPlan(pb.GetPlanRequest(id="premium"))).plan.display_name == "Premium+"

    monthly_to_yearly = pb.Plan(id="premium", billing_interval=pb.BillingInterval(unit=pb.INTERVAL_UNIT_YEAR))
    error = await rejected(
        tenant.UpdatePlan(
            pb.UpdatePlanRequest(
                plan=monthly_to_yearly, update_mask=FieldMask(paths=["billing_interval"]), request_id="u2"
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error.reason == "PLAN_INTERVAL_FIXED"
    assert await invalid_fields(
        tenant.UpdatePlan(pb.UpdatePlanRequest(plan=patch, update_mask=FieldMask(paths=["state"]), request_id="u3"))
    ) == ["update_mask"]
    error = await rejected(
        tenant.UpdateStorefront(
            pb.UpdateStorefrontRequest(
                storefront=pb.Storefront(id="us", currency_code="EUR"),
                update_mask=FieldMask(paths=["currency_code"]),
                request_id="u4",
            )
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error.reason == "STOREFRONT_CURRENCY_FIXED"


async def test_a_retired_plan_is_not_sold_but_keeps_renewing(tenant: TenantStub, catalog: CatalogHarness) -> None:
    await seed(tenant)
    started = Timestamp()
    started.FromDatetime(catalog.clock.now() + timedelta(seconds=1))

    retired = await tenant.RetirePlan(pb.RetirePlanRequest(id="premium", request_id="retire"))

    assert retired.plan.state == pb.PLAN_STATE_RETIRED
    error = await rejected(
        tenant.ResolvePrice(pb.ResolvePriceRequest(plan_id="premium", storefront_id="us")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert error.reason == "PLAN_NOT_SELLABLE"
    renewal = await tenant.ResolvePrice(
        pb.ResolvePriceRequest(plan_id="premium", storefront_id="us", subscription_start_time=started)
    )
    assert renewal.amount.amount_minor == 1299
    error = await rejected(
        tenant.ActivatePlan(pb.ActivatePlanRequest(id="premium", request_id="reactivate")),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "retired" in error.message


async def test_store_products_resolve_to_their_plan(tenant: TenantStub) -> None:
    await seed(tenant)
    mapping = pb.ChannelMapping(
        channel=channel_pb2.CHANNEL_APP_STORE, external_product_id="com.example.premium", plan_id="premium"
    )
    await tenant.CreateChannelMapping(pb.CreateChannelMappingRequest(channel_mapping=mapping, request_id="m"))

    request = pb.ResolveChannelProductRequest(
        channel=channel_pb2.CHANNEL_APP_STORE, external_product_id="com.example.premium"
    )
    found = await tenant.ResolveChannelProduct(request)
    assert (found.channel_mapping.id, found.plan.id) == ("app_store:com.example.premium", "premium")
    error = await rejected(
        tenant.ResolveChannelProduct(
            pb.ResolveChannelProductRequest(channel=channel_pb2.CHANNEL_GOOGLE_PLAY, external_product_id="x:y")
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    assert error.reason == "CHANNEL_PRODUCT_NOT_MAPPED"
    telecom_without_storefront = pb.ChannelMapping(
        channel=channel_pb2.CHANNEL_TELECOM, external_product_id="DT-1", plan_id="premium"
    )
    assert "channel_mapping.storefront_id" in await invalid_fields(
        tenant.CreateChannelMapping(
            pb.CreateChannelMappingRequest(channel_mapping=telecom_without_storefront, request_id="m2")
        )
    )


async def test_lists_page_through_every_resource(tenant: TenantStub) -> None:
    await seed(tenant)
    for i in range(4):
        await tenant.CreatePlan(pb.CreatePlanRequest(plan=premium_plan(id=f"extra{i}"), request_id=f"x{i}"))

    seen: list[str] = []
    token = ""
    while True:
        page = await tenant.ListPlans(pb.ListPlansRequest(page_size=2, page_token=token))
        seen.extend(p.id for p in page.plans)
        token = page.next_page_token
        if not token:
            break
    assert seen == ["extra0", "extra1", "extra2", "extra3", "premium"]
    assert await invalid_fields(tenant.ListFeatures(pb.ListFeaturesRequest(page_token="garbage"))) == ["page_token"]
