"""A price rise reaching an existing subscriber through the gateway, on the real suite: a dry run before
scheduling it, the notice, the pending change visible, the subscriber's consent from its device (customer token),
the upcoming charge, the renewal at the new price and the subscriber's events in order, and the impact report;
then the role matrix and tenant isolation of the price change routes, over REST and gRPC."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import price_changes_pb2 as pc
from azotte.gateway.v1 import price_changes_pb2_grpc
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_customer_tokens import bound, token_for
from tests.e2e.test_gateway_e2e_families import refused

RISE = 899  # basic_monthly costs 699 in "us"


def rid() -> str:
    return uuid.uuid4().hex


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def subscriber(tenant: TenantApi) -> tuple[str, str, dict[str, Any]]:
    """A customer with a basic_monthly subscription bought now: (customer, subscription id, subscription)."""
    customer = await tenant.customer()
    bought = await tenant.checkout(customer)
    assert bought.status_code == 200, bought.text
    sub_id = bought.json()["subscription"]["id"]
    return customer, sub_id, (await tenant.ok("GET", f"/v1/subscriptions/{sub_id}"))["subscription"]


async def advance_to(tenant: TenantApi, when: datetime) -> None:
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_to": when.isoformat()})


async def history(tenant: TenantApi, sub_id: str) -> list[str]:
    entries = (await tenant.ok("GET", f"/v1/subscriptions/{sub_id}/history"))["entries"]
    return [entry["event_type"] for entry in entries]


async def until(check: Any, seconds: float = 20.0) -> None:
    """Poll `check()` (an awaitable returning bool) until it holds; the scheduler works after a clock move."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.2)


async def test_a_rise_with_notice_and_consent_reaches_the_renewal_as_shown(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    manager = await tenant.new_key("manager")
    notice = {
        "request_id": rid(),
        "storefront": {"price_increase_notice_days": 30, "price_increase_consent_required": True},
        "update_mask": "price_increase_notice_days,price_increase_consent_required",
    }
    await tenant.ok("PATCH", "/v1/storefronts/us", json=notice, key=manager)
    customer, sub_id, sub = await subscriber(tenant)
    assert (sub["current_price"]["amount_minor"], sub["price_change"]["state"]) == ("699", "PRICE_CHANGE_STATE_NONE")
    bought_at = at(sub["current_period_start_time"])
    effective = bought_at + timedelta(days=1)

    dry_run = await tenant.ok(
        "GET",
        "/v1/price-changes/affected-subscribers",
        params={
            "storefront_id": "us",
            "plan_id": "basic_monthly",
            "amount_minor": RISE,
            "effective_time": effective.isoformat(),
            "existing_subscribers": "at_next_renewal",
        },
        key=manager,
    )
    assert (dry_run["affected_count"], dry_run["notice_days"], dry_run["consent_required"]) == ("1", 30, True)
    (shown,) = dry_run["subscribers"]
    first_renewal = at(shown["first_renewal_time"])
    assert first_renewal >= bought_at + timedelta(days=31)  # a rise waits for its 30 days of notice
    assert (shown["subscription_id"], shown["new_price"]["amount_minor"]) == (sub_id, str(RISE))

    price = {
        "request_id": rid(),
        "plan_id": "basic_monthly",
        "storefront_id": "us",
        "amount_minor": RISE,
        "effective_time": effective.isoformat(),
        "existing_subscribers": "at_next_renewal",
    }
    await tenant.ok("POST", "/v1/prices", json=price, key=manager)
    # NOTE: the subscriber's device is given its token before the sandbox clock moves (tokens follow real time).
    device, backend = await tenant.new_key("publishable"), await tenant.new_key("operator")
    token = await token_for(tenant, customer, key=backend)
    await advance_to(tenant, first_renewal - timedelta(days=30))  # the notice check of that renewal

    async def told() -> bool:
        pending = await tenant.ok("GET", f"/v1/subscriptions/{sub_id}/price-change")
        return bool(pending["price_change"]["state"] == "PRICE_CHANGE_STATE_AWAITING_CONSENT")

    await until(told)
    pending = (await tenant.ok("GET", f"/v1/subscriptions/{sub_id}"))["subscription"]["price_change"]
    assert (pending["old_price"]["amount_minor"], pending["new_price"]["amount_minor"]) == ("699", str(RISE))
    assert at(pending["effective_time"]) == first_renewal and pending["consent_required"] is True

    consent = {"request_id": rid()}
    path = f"/v1/subscriptions/{sub_id}:consent-to-price-change"
    refused(await tenant.call("POST", path, json=consent, key=device), 403, "CUSTOMER_SCOPE_VIOLATION")
    accepted = await tenant.call("POST", path, json=consent, key=device, headers=bound(token))
    assert accepted.status_code == 200, accepted.text
    again = await tenant.call("POST", path, json=consent, key=device, headers=bound(token))
    assert again.json() == accepted.json()
    assert accepted.json()["subscription"]["price_change"]["state"] == "PRICE_CHANGE_STATE_CONSENTED"
    upcoming = await tenant.ok("GET", f"/v1/subscriptions/{sub_id}/upcoming-charge", key=device, headers=bound(token))
    assert (upcoming["amount"]["amount_minor"], at(upcoming["charge_time"])) == (str(RISE), first_renewal)

    await advance_to(tenant, first_renewal + timedelta(minutes=1))
    charges_path = f"/v1/customers/{customer}/charges"

    async def renewed() -> bool:
        charges = (await tenant.ok("GET", charges_path, params={"filter": f'subscription_id = "{sub_id}"'}))["charges"]
        return len(charges) == 2

    await until(renewed)
    newest = (await tenant.ok("GET", charges_path, params={"filter": f'subscription_id = "{sub_id}"'}))["charges"][0]
    assert (newest["net"]["amount_minor"], newest["gross"]["amount_minor"]) == (
        upcoming["amount"]["amount_minor"],
        upcoming["gross"]["amount_minor"],
    )
    assert await history(tenant, sub_id) == [
        "subscription.created",
        "subscription.activated",
        "subscription.price_change_scheduled",
        "subscription.price_change_consented",
        "subscription.renewed",
    ]
    impact = await tenant.ok("GET", "/v1/price-changes/impact", params={"plan_id": "basic_monthly"}, key=manager)
    (cohort,) = impact["cohorts"]
    counts = [cohort[name] for name in ("subscriber_count", "consented_count", "renewed_count", "churned_count")]
    assert counts == ["1", "1", "1", "0"]
    assert (cohort["revenue_before"]["amount_minor"], cohort["revenue_after"]["amount_minor"]) == ("699", str(RISE))
    assert cohort["cohort"] == bought_at.strftime("%Y-%m")


@pytest.fixture(scope="module")
async def shop(suite: RunningSuite) -> tuple[TenantApi, str, str]:
    """A tenant with one subscriber: (tenant, customer, subscription id)."""
    tenant = await suite.new_tenant()
    customer, sub_id, _ = await subscriber(tenant)
    return tenant, customer, sub_id


ROUTES = {
    "upcoming": ("GET", "/v1/subscriptions/{sub}/upcoming-charge"),
    "pending": ("GET", "/v1/subscriptions/{sub}/price-change"),
    "consent": ("POST", "/v1/subscriptions/{sub}:consent-to-price-change"),
    "decline": ("POST", "/v1/subscriptions/{sub}:decline-price-change"),
    "dry_run": ("GET", "/v1/price-changes/affected-subscribers"),
    "impact": ("GET", "/v1/price-changes/impact"),
}
DRY_RUN = {"storefront_id": "us", "plan_id": "basic_monthly", "amount_minor": RISE}
# What each role gets: 200, or 409 for a consent with no increase awaiting it (the role may, the state does not).
MATRIX = {
    "viewer": {"upcoming": 200, "pending": 200, "consent": 403, "decline": 403, "dry_run": 200, "impact": 403},
    "operator": {"upcoming": 200, "pending": 200, "consent": 409, "decline": 409, "dry_run": 200, "impact": 403},
    "manager": {"upcoming": 200, "pending": 200, "consent": 409, "decline": 409, "dry_run": 200, "impact": 200},
    "admin": {"upcoming": 200, "pending": 200, "consent": 409, "decline": 409, "dry_run": 200, "impact": 200},
    "publishable": {"upcoming": 403, "pending": 403, "consent": 403, "decline": 403, "dry_run": 403, "impact": 403},
}


async def route(tenant: TenantApi, name: str, sub_id: str, key: str, headers: dict[str, str] | None = None) -> Any:
    method, template = ROUTES[name]
    extra: dict[str, Any] = {"json": {"request_id": rid()}} if method == "POST" else {}
    if name == "dry_run":
        extra["params"] = DRY_RUN
    return await tenant.call(method, template.format(sub=sub_id), key=key, headers=headers or {}, **extra)


@pytest.mark.parametrize("role", list(MATRIX))
async def test_each_role_gets_what_the_matrix_says(shop: tuple[TenantApi, str, str], role: str) -> None:
    tenant, _, sub_id = shop
    key = await tenant.new_key(role)
    answers = {name: (await route(tenant, name, sub_id, key)).status_code for name in ROUTES}
    assert answers == MATRIX[role]


async def test_a_device_sees_and_answers_only_for_its_own_customer(
    suite: RunningSuite, shop: tuple[TenantApi, str, str]
) -> None:
    tenant, customer, sub_id = shop
    device, backend = await tenant.new_key("publishable"), await tenant.new_key("operator")
    own = bound(await token_for(tenant, customer, key=backend))
    other = bound(await token_for(tenant, await tenant.customer(), key=backend))
    assert (await route(tenant, "pending", sub_id, device, own)).status_code == 200
    assert (await route(tenant, "upcoming", sub_id, device, own)).status_code == 200
    refused(await route(tenant, "pending", sub_id, device, other), 403, "CUSTOMER_SCOPE_VIOLATION")
    refused(await route(tenant, "consent", sub_id, device, other), 403, "CUSTOMER_SCOPE_VIOLATION")
    assert (await route(tenant, "dry_run", sub_id, device, own)).status_code == 403


async def test_another_tenants_subscription_is_not_found_over_rest_and_grpc(
    suite: RunningSuite, shop: tuple[TenantApi, str, str]
) -> None:
    _, _, sub_id = shop
    stranger = await suite.new_tenant()
    for name in ("upcoming", "pending", "consent", "decline"):
        assert (await route(stranger, name, sub_id, stranger.key)).status_code == 404, name
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = price_changes_pb2_grpc.PriceChangesServiceStub(channel)
        auth = (("authorization", f"Bearer {stranger.key}"),)
        for call in (
            stub.GetPendingPriceChange(pc.GetPendingPriceChangeRequest(subscription_id=sub_id), metadata=auth),
            stub.ConsentToPriceChange(
                pc.ConsentToPriceChangeRequest(request_id=rid(), subscription_id=sub_id), metadata=auth
            ),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as missing:
                await call
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_the_grpc_surface_answers_as_rest(suite: RunningSuite, shop: tuple[TenantApi, str, str]) -> None:
    tenant, _, sub_id = shop
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = price_changes_pb2_grpc.PriceChangesServiceStub(channel)
        auth = (("authorization", f"Bearer {tenant.key}"),)
        pending = await stub.GetPendingPriceChange(
            pc.GetPendingPriceChangeRequest(subscription_id=sub_id), metadata=auth
        )
        upcoming = await stub.GetUpcomingCharge(pc.GetUpcomingChargeRequest(subscription_id=sub_id), metadata=auth)
        request = pc.ListPriceChangeSubscribersRequest(
            storefront_id="us",
            plan_id="basic_monthly",
            amount_minor=RISE,
            existing_subscribers=pc.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL,
        )
        dry_run = await stub.ListPriceChangeSubscribers(request, metadata=auth)
        viewer = (("authorization", f"Bearer {await tenant.new_key('viewer')}"),)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.GetPriceChangeImpact(pc.GetPriceChangeImpactRequest(), metadata=viewer)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    rest = await tenant.ok("GET", f"/v1/subscriptions/{sub_id}/price-change")
    assert pending.price_change.state == gw.PRICE_CHANGE_STATE_NONE
    assert rest["price_change"]["state"] == "PRICE_CHANGE_STATE_NONE"
    assert (upcoming.amount.amount_minor, pending.next_price.amount_minor) == (699, 699)
    assert [s.subscription_id for s in dry_run.subscribers] == [sub_id] and dry_run.affected_count == 1
