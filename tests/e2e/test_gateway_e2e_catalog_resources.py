"""Catalog resources one by one through the gateway (REST and gRPC), and the list conventions of their lists."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import httpx
import pytest
import yaml

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte.gateway.v1 import catalog_admin_pb2_grpc, gateway_pb2_grpc, tenant_admin_pb2_grpc
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.status import from_rpc_error
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

AHEAD = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)


def rid() -> str:
    return uuid.uuid4().hex


def fields(answer: httpx.Response) -> list[str]:
    """The fields an error answer's BadRequest names."""
    details = answer.json()["error"]["details"]
    return [v["field"] for d in details for v in d.get("field_violations", [])]


async def send(
    tenant: TenantApi, method: str, path: str, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return await tenant.call(method, path, json={"request_id": rid(), **body}, key=key)


def travel_plan(plan_id: str) -> dict[str, Any]:
    return {
        "id": plan_id,
        "display_name": "Travel",
        "family": "ott",
        "rank": 15,
        "billing_interval": {"unit": "INTERVAL_UNIT_MONTH", "count": 1},
        "feature_grants": [{"feature_key": "offline_downloads"}],
    }


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite) -> TenantApi:
    """A tenant with the OTT catalog, changed here one resource at a time."""
    return await suite.new_tenant()


@pytest.fixture(scope="module")
async def manager(shop: TenantApi) -> str:
    return await shop.new_key("manager")


async def test_a_manager_builds_sells_and_retires_a_plan_one_resource_at_a_time(shop: TenantApi, manager: str) -> None:
    storefront = {
        "id": "ca",
        "display_name": "Canada",
        "country_code": "CA",
        "currency_code": "CAD",
        "channels": ["CHANNEL_WEB"],
        "tax_policy": {"mode": "TAX_MODE_EXCLUSIVE", "rate": "0.05"},
        "payment_routing": {"fallback_psps": ["stripe"]},
    }
    created = await send(shop, "POST", "/v1/storefronts", {"storefront": storefront}, manager)
    assert created.status_code == 200, created.text
    renamed = await send(
        shop,
        "PATCH",
        "/v1/storefronts/ca",
        {"storefront": {"display_name": "Kanada"}, "update_mask": "display_name"},
        manager,
    )
    assert (
        renamed.json()["storefront"]["display_name"] == "Kanada"
        and renamed.json()["storefront"]["currency_code"] == "CAD"
    )

    feature = {"key": "offline_downloads", "display_name": "Offline", "kind": "FEATURE_KIND_BOOLEAN"}
    assert (await send(shop, "POST", "/v1/features", {"feature": feature}, manager)).status_code == 200
    await send(shop, "PATCH", "/v1/features/offline_downloads", {"feature": {"display_name": "Downloads"}}, manager)
    assert (await shop.ok("GET", "/v1/features/offline_downloads"))["feature"]["display_name"] == "Downloads"

    # a plan is a draft until activated, and a request id makes its creation safe to retry
    body = {"request_id": rid(), "plan": travel_plan("travel_monthly")}
    first = await shop.call("POST", "/v1/plans", json=body, key=manager)
    again = await shop.call("POST", "/v1/plans", json=body, key=manager)
    assert first.status_code == again.status_code == 200 and first.json() == again.json()
    assert first.json()["plan"]["state"] == "PLAN_STATE_DRAFT"
    duplicate = await send(shop, "POST", "/v1/plans", {"plan": travel_plan("travel_monthly")}, manager)
    assert duplicate.status_code == 409, duplicate.text
    price = await send(
        shop, "POST", "/v1/prices", {"plan_id": "travel_monthly", "storefront_id": "us", "amount_minor": 499}, manager
    )
    assert price.status_code == 200, price.text
    refused = await shop.checkout(await shop.customer(), plan="travel_monthly")
    assert refused.status_code == 409, refused.text
    activated = await send(shop, "POST", "/v1/plans/travel_monthly:activate", {}, manager)
    assert activated.json()["plan"]["state"] == "PLAN_STATE_ACTIVE"

    sold = await shop.checkout(await shop.customer(), plan="travel_monthly")
    assert sold.status_code == 200, sold.text
    assert sold.json()["subscription"]["plan_id"] == "travel_monthly"

    # a price change scheduled ahead is listed as scheduled, and the one in effect still resolves
    change = {
        "plan_id": "travel_monthly",
        "storefront_id": "us",
        "amount_minor": 599,
        "effective_time": AHEAD.isoformat(),
    }
    assert (await send(shop, "POST", "/v1/prices", change, manager)).status_code == 200
    scheduled = await shop.ok("GET", "/v1/prices", params={"filter": "scheduled = true AND plan_id = travel_monthly"})
    assert [p["amount"]["amount_minor"] for p in scheduled["prices"]] == ["599"]
    history = await shop.ok(
        "GET", "/v1/prices", params={"filter": "plan_id = travel_monthly", "order_by": "effective_time desc"}
    )
    assert [p["amount"]["amount_minor"] for p in history["prices"]] == ["599", "499"]
    # a scheduled change is withdrawn before it takes effect; the price in effect is history
    cancelled = await send(shop, "POST", f"/v1/prices/{scheduled['prices'][0]['id']}:cancel", {}, manager)
    assert cancelled.status_code == 200, cancelled.text
    assert (await shop.ok("GET", "/v1/prices", params={"filter": "scheduled = true AND plan_id = travel_monthly"}))[
        "prices"
    ] == []
    in_effect = await send(shop, "POST", f"/v1/prices/{history['prices'][1]['id']}:cancel", {}, manager)
    assert in_effect.status_code == 409 and "PRICE_ALREADY_EFFECTIVE" in in_effect.text
    assert (await send(shop, "POST", "/v1/prices", change, manager)).status_code == 200

    mapping = {"channel": "CHANNEL_APP_STORE", "external_product_id": "com.example.travel", "plan_id": "travel_monthly"}
    assert (await send(shop, "POST", "/v1/channel-mappings", {"channel_mapping": mapping}, manager)).status_code == 200
    mapped = await shop.ok("GET", "/v1/channel-mappings", params={"filter": "plan_id = travel_monthly"})
    assert [m["id"] for m in mapped["channel_mappings"]] == ["app_store:com.example.travel"]

    retired = await send(shop, "POST", "/v1/plans/travel_monthly:retire", {}, manager)
    assert retired.json()["plan"]["state"] == "PLAN_STATE_RETIRED"
    assert (await shop.checkout(await shop.customer(), plan="travel_monthly")).status_code == 409
    retired_plans = await shop.ok("GET", "/v1/plans", params={"filter": "state = retired"})
    assert [p["id"] for p in retired_plans["plans"]] == ["travel_monthly"]


async def test_a_plan_moved_into_a_family_is_refused_to_its_members_from_then_on(shop: TenantApi, manager: str) -> None:
    sports = {**travel_plan("sports_monthly"), "display_name": "Sports", "family": "sports"}
    assert (await send(shop, "POST", "/v1/plans", {"plan": sports}, manager)).status_code == 200
    price = {"plan_id": "sports_monthly", "storefront_id": "us", "amount_minor": 699}
    assert (await send(shop, "POST", "/v1/prices", price, manager)).status_code == 200
    assert (await send(shop, "POST", "/v1/plans/sports_monthly:activate", {}, manager)).status_code == 200

    async def sports_for_a_basic_subscriber() -> int:
        customer = await shop.customer()
        assert (await shop.checkout(customer)).status_code == 200
        return (await shop.checkout(customer, plan="sports_monthly")).status_code

    assert await sports_for_a_basic_subscriber() == 200  # another family: both are held
    moved = {"plan": {**sports, "family": "ott"}, "update_mask": "family"}
    assert (await send(shop, "PATCH", "/v1/plans/sports_monthly", moved, manager)).status_code == 200

    async def refused() -> bool:
        return await sports_for_a_basic_subscriber() == 409

    # NOTE: lifecycle keeps a plan's terms until the catalog's event of the change reaches it.
    await eventually(refused, within=5)


async def test_the_document_shows_one_by_one_changes_and_agrees_with_them(shop: TenantApi, manager: str) -> None:
    plan = {**travel_plan("weekend_monthly"), "feature_grants": [{"feature_key": "hd_streaming"}]}
    assert (await send(shop, "POST", "/v1/plans", {"plan": plan}, manager)).status_code == 200
    await send(
        shop, "POST", "/v1/prices", {"plan_id": "weekend_monthly", "storefront_id": "de", "amount_minor": 299}, manager
    )
    exported = yaml.safe_load(await shop.ok("GET", "/v1/catalog"))
    weekend = next(p for p in exported["plans"] if p["id"] == "weekend_monthly")
    assert weekend["status"] == "draft" and weekend["features"] == [{"key": "hd_streaming"}]
    assert {"plan": "weekend_monthly", "storefront": "de"}.items() <= next(
        p for p in exported["prices"] if p["plan"] == "weekend_monthly"
    ).items()
    # applying the exported document changes nothing: both ways hold the same catalog
    dry_run = await shop.apply_catalog(yaml.safe_dump(exported).encode(), dry_run=True)
    assert dry_run.status_code == 200, dry_run.text
    assert {c["change_type"] for c in dry_run.json()["changes"]} == {"CHANGE_TYPE_UNCHANGED"}


async def test_one_by_one_and_the_document_refuse_the_same_plan_naming_its_field(shop: TenantApi, manager: str) -> None:
    plan = {**travel_plan("broken_monthly"), "feature_grants": [{"feature_key": "no_such_feature"}]}
    refused = await send(shop, "POST", "/v1/plans", {"plan": plan}, manager)
    assert refused.status_code == 400 and fields(refused) == ["plan.feature_grants[0].feature_key"]
    exported = yaml.safe_load(await shop.ok("GET", "/v1/catalog"))
    exported["plans"].append(
        {
            "id": "broken_monthly",
            "name": "Broken",
            "family": "ott",
            "rank": 1,
            "interval": {"unit": "month"},
            "features": [{"key": "no_such_feature"}],
        }
    )
    document = await shop.apply_catalog(yaml.safe_dump(exported).encode(), dry_run=True)
    assert document.status_code == 400 and fields(document) == [f"plans[{len(exported['plans']) - 1}].features[0].key"]

    unknown = await send(
        shop, "POST", "/v1/prices", {"plan_id": "basic_monthly", "storefront_id": "mars", "amount_minor": 1}, manager
    )
    assert unknown.status_code == 400 and fields(unknown) == ["storefront_id"]
    backdated = await send(
        shop,
        "POST",
        "/v1/prices",
        {
            "plan_id": "basic_monthly",
            "storefront_id": "us",
            "amount_minor": 1,
            "effective_time": "2001-01-01T00:00:00Z",
        },
        manager,
    )
    assert backdated.status_code == 400 and fields(backdated) == ["effective_time"]
    mask = await send(shop, "PATCH", "/v1/plans/basic_monthly", {"plan": {"rank": 2}, "update_mask": "state"}, manager)
    assert mask.status_code == 400 and fields(mask) == ["update_mask"]
    null = {"plan": {"billing_interval": None, "texts": [{"locale": None}]}, "update_mask": "billing_interval"}
    nulled = await send(shop, "PATCH", "/v1/plans/basic_monthly", null, manager)
    assert nulled.status_code == 400 and fields(nulled) == ["plan.billing_interval"]
    currency = await send(shop, "PATCH", "/v1/storefronts/us", {"storefront": {"currency_code": "EUR"}}, manager)
    assert currency.status_code == 409 and "storefront.currency_code" in currency.text
    bad_filter = await shop.call("GET", "/v1/plans", params={"filter": "price < 3"})
    assert bad_filter.status_code == 400 and fields(bad_filter) == ["filter"]
    bad_order = await shop.call("GET", "/v1/features", params={"order_by": "price"})
    assert bad_order.status_code == 400 and fields(bad_order) == ["order_by"]


async def test_pages_follow_filter_and_order_and_their_tokens_stay_bound_to_them(shop: TenantApi) -> None:
    query = {"filter": "state = active AND rank >= 10", "order_by": "rank desc", "page_size": "2"}
    first = await shop.ok("GET", "/v1/plans", params=query)
    second = await shop.ok("GET", "/v1/plans", params={**query, "page_token": first["next_page_token"]})
    ranks = [p["rank"] for p in first["plans"] + second["plans"]]
    assert ranks == sorted(ranks, reverse=True) and min(ranks) >= 10 and len(first["plans"]) == 2
    moved = await shop.call(
        "GET", "/v1/plans", params={**query, "order_by": "rank", "page_token": first["next_page_token"]}
    )
    assert moved.status_code == 400 and fields(moved) == ["page_token"]
    # the old query fields keep working next to the filter
    family = await shop.ok("GET", "/v1/plans", params={"family": "ott", "filter": "add_on = false"})
    assert family["plans"] and all(p["family"] == "ott" for p in family["plans"])
    euro = await shop.ok("GET", "/v1/storefronts", params={"filter": "currency_code = EUR"})
    assert [s["id"] for s in euro["storefronts"]] == ["de"]


async def test_api_keys_filter_on_role_and_revocation(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    for role in ("viewer", "viewer", "operator"):
        await tenant.new_key(role)
    listed = await tenant.ok("GET", "/v1/api-keys", params={"filter": "role = operator"})
    await tenant.ok("POST", f"/v1/api-keys/{listed['api_keys'][0]['id']}:revoke", json={"request_id": rid()})
    viewers = await tenant.ok("GET", "/v1/api-keys", params={"filter": "role = viewer AND revoked = false"})
    assert [k["role"] for k in viewers["api_keys"]] == ["API_KEY_ROLE_VIEWER"] * 2
    revoked = await tenant.ok("GET", "/v1/api-keys", params={"filter": "revoked = true"})
    assert [k["role"] for k in revoked["api_keys"]] == ["API_KEY_ROLE_OPERATOR"]
    named = await tenant.ok("GET", "/v1/api-keys", params={"order_by": "role desc", "page_size": "1"})
    rest = await tenant.ok(
        "GET", "/v1/api-keys", params={"order_by": "role desc", "page_token": named["next_page_token"]}
    )
    roles = [k["role"] for k in named["api_keys"] + rest["api_keys"]]
    assert roles == sorted(roles, reverse=True) and "API_KEY_ROLE_OPERATOR" not in roles
    bad = await tenant.call("GET", "/v1/api-keys", params={"filter": "role = owner"})
    assert bad.status_code == 400 and fields(bad) == ["filter"]


# --- gRPC ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def channel(suite: RunningSuite) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as opened:
        yield opened


async def test_the_same_operations_over_grpc(suite: RunningSuite, channel: grpc.aio.Channel) -> None:
    tenant = await suite.new_tenant()
    auth = (("authorization", f"Bearer {await tenant.new_key('manager')}"),)
    admin = catalog_admin_pb2_grpc.CatalogAdminServiceStub(channel)
    public = gateway_pb2_grpc.GatewayServiceStub(channel)

    feature = cat.Feature(key="offline_downloads", display_name="Offline", kind=cat.FEATURE_KIND_BOOLEAN)
    await admin.CreateFeature(ca.CreateFeatureRequest(request_id=rid(), feature=feature), metadata=auth)
    plan = cat.Plan(
        id="travel_monthly",
        display_name="Travel",
        family="ott",
        rank=15,
        billing_interval=cat.BillingInterval(unit=cat.INTERVAL_UNIT_MONTH, count=1),
        feature_grants=[cat.FeatureGrant(feature_key="offline_downloads")],
    )
    created = await admin.CreatePlan(ca.CreatePlanRequest(request_id=rid(), plan=plan), metadata=auth)
    assert created.plan.state == cat.PLAN_STATE_DRAFT
    await admin.SchedulePrice(
        ca.SchedulePriceRequest(request_id=rid(), plan_id="travel_monthly", storefront_id="us", amount_minor=499),
        metadata=auth,
    )
    ahead = ca.SchedulePriceRequest(
        request_id=rid(),
        plan_id="travel_monthly",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_WEB,
        amount_minor=599,
        existing_subscribers=cat.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL,
    )
    ahead.effective_time.FromDatetime(AHEAD)
    await admin.SchedulePrice(ahead, metadata=auth)
    activated = await admin.ActivatePlan(
        ca.ActivatePlanRequest(request_id=rid(), plan_id="travel_monthly"), metadata=auth
    )
    assert activated.plan.state == cat.PLAN_STATE_ACTIVE

    scheduled = await public.ListPrices(
        gw.ListPricesRequest(filter="scheduled = true AND plan_id = travel_monthly"), metadata=auth
    )
    assert [p.amount.amount_minor for p in scheduled.prices] == [599]
    cancelled = await admin.CancelPrice(
        ca.CancelPriceRequest(request_id=rid(), price_id=scheduled.prices[0].id), metadata=auth
    )
    assert cancelled.price.amount.amount_minor == 599
    left = await public.ListPrices(
        gw.ListPricesRequest(filter="scheduled = true AND plan_id = travel_monthly"), metadata=auth
    )
    assert list(left.prices) == []
    drafts = await public.ListPlans(gw.ListPlansRequest(filter="rank = 15", order_by="id desc"), metadata=auth)
    assert [p.id for p in drafts.plans] == ["travel_monthly"]
    booleans = await admin.ListFeatures(
        ca.ListFeaturesRequest(filter="kind = boolean", order_by="key desc"), metadata=auth
    )
    keys = [f.key for f in booleans.features]
    assert "offline_downloads" in keys and keys == sorted(keys, reverse=True)

    retired = await admin.RetirePlan(ca.RetirePlanRequest(request_id=rid(), plan_id="travel_monthly"), metadata=auth)
    assert retired.plan.state == cat.PLAN_STATE_RETIRED

    broken = cat.Plan(id="broken", display_name="B", family="ott", rank=1, billing_interval=plan.billing_interval)
    broken.feature_grants.add(feature_key="no_such_feature")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await admin.CreatePlan(ca.CreatePlanRequest(request_id=rid(), plan=broken), metadata=auth)
    error = from_rpc_error(refused.value)
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.violations] == ["plan.feature_grants[0].feature_key"]
    with pytest.raises(grpc.aio.AioRpcError) as no_id:
        await admin.ActivatePlan(ca.ActivatePlanRequest(request_id=rid()), metadata=auth)
    missing = from_rpc_error(no_id.value)
    assert isinstance(missing, InvalidArgument) and [v.field for v in missing.violations] == ["plan_id"]

    keys_admin = tenant_admin_pb2_grpc.TenantAdminServiceStub(channel)
    await tenant.new_key("viewer")
    viewers = await keys_admin.ListApiKeys(
        ta.ListApiKeysRequest(filter="role = viewer AND revoked = false"),
        metadata=(("authorization", f"Bearer {tenant.key}"),),
    )
    assert [k.role for k in viewers.api_keys] == [ta.API_KEY_ROLE_VIEWER]


# --- the role matrix ----------------------------------------------------------------------------------


def operations(plan_id: str) -> list[tuple[str, str, dict[str, Any] | None, bool]]:
    """(method, path, body or None for a read, whether it writes) of every new operation."""
    suffix = plan_id.removeprefix("m_")
    ahead = AHEAD.isoformat()
    return [
        ("GET", "/v1/features", None, False),
        ("GET", "/v1/features/hd_streaming", None, False),
        ("GET", "/v1/channel-mappings", None, False),
        (
            "POST",
            "/v1/storefronts",
            {
                "storefront": {
                    "id": f"s{suffix}",
                    "display_name": "S",
                    "country_code": "FR",
                    "currency_code": "EUR",
                    "channels": ["CHANNEL_WEB"],
                    "tax_policy": {"mode": "TAX_MODE_INCLUSIVE", "rate": "0.2"},
                    "payment_routing": {"fallback_psps": ["stripe"]},
                }
            },
            True,
        ),
        ("PATCH", "/v1/storefronts/de", {"storefront": {"display_name": f"Deutschland {suffix}"}}, True),
        (
            "POST",
            "/v1/features",
            {"feature": {"key": f"f{suffix}", "display_name": "F", "kind": "FEATURE_KIND_BOOLEAN"}},
            True,
        ),
        ("PATCH", "/v1/features/hd_streaming", {"feature": {"display_name": f"HD {suffix}"}}, True),
        ("POST", "/v1/plans", {"plan": travel_plan(plan_id) | {"feature_grants": []}}, True),
        ("PATCH", f"/v1/plans/{plan_id}", {"plan": {"display_name": "Renamed"}}, True),
        ("POST", "/v1/prices", {"plan_id": plan_id, "storefront_id": "us", "amount_minor": 100}, True),
        ("POST", f"/v1/plans/{plan_id}:activate", {}, True),
        (
            "POST",
            "/v1/prices",
            {"plan_id": plan_id, "storefront_id": "us", "amount_minor": 200, "effective_time": ahead},
            True,
        ),
        ("POST", f"/v1/prices/{plan_id}.us.default.{AHEAD:%Y%m%dT%H%M%SZ}:cancel", {}, True),
        ("POST", f"/v1/plans/{plan_id}:retire", {}, True),
        (
            "POST",
            "/v1/channel-mappings",
            {
                "channel_mapping": {
                    "channel": "CHANNEL_GOOGLE_PLAY",
                    "external_product_id": f"p{suffix}:monthly",
                    "plan_id": plan_id,
                }
            },
            True,
        ),
    ]


@pytest.mark.parametrize("role", ["publishable", "viewer", "operator"])
async def test_roles_below_manager_cannot_change_the_catalog(shop: TenantApi, role: str) -> None:
    key = await shop.new_key(role)
    for method, path, body, writes in operations("basic_monthly"):
        answer = await (shop.call(method, path, key=key) if body is None else send(shop, method, path, body, key))
        expected = 403 if writes or role == "publishable" else 200
        assert answer.status_code == expected, (role, method, path, answer.text)


async def test_managers_perform_every_operation_and_a_foreign_tenant_finds_nothing(
    suite: RunningSuite, shop: TenantApi, manager: str
) -> None:
    plan_id = f"m_{uuid.uuid4().hex[:8]}"
    for method, path, body, _ in operations(plan_id):
        answer = await (
            shop.call(method, path, key=manager) if body is None else send(shop, method, path, body, manager)
        )
        assert answer.status_code == 200, (method, path, answer.text)
    foreign = await suite.new_tenant()
    for method, path, body in (
        ("GET", f"/v1/plans/{plan_id}", None),
        ("PATCH", f"/v1/plans/{plan_id}", {"plan": {"display_name": "Mine"}}),
        ("POST", f"/v1/plans/{plan_id}:retire", {}),
    ):
        answer = await (foreign.call(method, path) if body is None else send(foreign, method, path, body))
        assert answer.status_code == 404 and plan_id in answer.text, (method, path, answer.text)
    price = await send(foreign, "POST", "/v1/prices", {"plan_id": plan_id, "storefront_id": "us", "amount_minor": 1})
    assert price.status_code == 400 and fields(price) == ["plan_id"]
    unchanged = await shop.ok("GET", f"/v1/plans/{plan_id}")
    assert unchanged["plan"]["display_name"] == "Renamed" and unchanged["plan"]["state"] == "PLAN_STATE_RETIRED"
