"""Every public REST endpoint once, against the real suite."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually


def new_request() -> dict[str, str]:
    """The body of a call with nothing to say but its own request id."""
    return {"request_id": uuid.uuid4().hex}


async def subscribed(tenant: TenantApi, plan: str = "family_monthly", storefront: str = "us") -> tuple[str, str]:
    customer = await tenant.customer()
    answer = await tenant.checkout(customer, plan=plan, storefront=storefront)
    assert answer.status_code == 200, answer.text
    return customer, answer.json()["subscription"]["id"]


async def test_catalog_apply_dry_run_export_and_reads(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant(with_catalog=False)
    dry = (await tenant.apply_catalog(dry_run=True)).json()
    assert dry["applied"] is False
    assert {c["change_type"] for c in dry["changes"]} == {"CHANGE_TYPE_CREATED"}
    assert (await tenant.ok("GET", "/v1/storefronts"))["storefronts"] == []
    applied = (await tenant.apply_catalog()).json()
    assert applied["applied"] is True
    again = (await tenant.apply_catalog()).json()
    assert {c["change_type"] for c in again["changes"]} == {"CHANGE_TYPE_UNCHANGED"}
    exported = await tenant.ok("GET", "/v1/catalog")
    assert "basic_monthly" in exported and "storefronts" in exported
    storefronts = (await tenant.ok("GET", "/v1/storefronts"))["storefronts"]
    assert {s["id"] for s in storefronts} == {"us", "de"}
    assert (await tenant.ok("GET", "/v1/storefronts/de"))["storefront"]["currency_code"] == "EUR"
    plans = (await tenant.ok("GET", "/v1/plans"))["plans"]
    assert "premium_monthly" in {p["id"] for p in plans}
    assert (await tenant.ok("GET", "/v1/plans/basic_monthly"))["plan"]["id"] == "basic_monthly"
    prices = (await tenant.ok("GET", "/v1/prices?plan_id=basic_monthly"))["prices"]
    assert {p["storefront_id"] for p in prices} == {"us", "de"}
    missing = await tenant.call("GET", "/v1/plans/nope")
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
    bad = await tenant.apply_catalog(b"version: 1\nplans: 12\n")
    assert bad.status_code == 400, bad.text


async def test_customers_access_and_entitlements(tenant: TenantApi) -> None:
    customer, subscription_id = await subscribed(tenant)
    assert (await tenant.ok("GET", f"/v1/customers/{customer}"))["customer"]["id"] == customer
    access = (await tenant.ok("GET", f"/v1/customers/{customer}/access/hd_streaming"))["decision"]
    assert access["allowed"] is True
    assert access["sources"] == [{"kind": "ACCESS_SOURCE_KIND_SUBSCRIPTION", "reference": subscription_id}]
    downloads = (await tenant.ok("GET", f"/v1/customers/{customer}/access/downloads"))["decision"]
    assert (downloads["quota_limit"], downloads["quota_used"], downloads["remaining_quota"]) == ("100", "0", "100")
    too_many = (await tenant.ok("GET", f"/v1/customers/{customer}/access/downloads?quantity=101"))["decision"]
    assert not too_many["allowed"] and too_many["denial_reason"] == "ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED"
    assert (await tenant.ok("GET", f"/v1/customers/{customer}/access/downloads?quantity=100"))["decision"]["allowed"]
    entitlements = (await tenant.ok("GET", f"/v1/customers/{customer}/entitlements"))["entitlements"]
    assert {"hd_streaming", "uhd_streaming"} <= {e["feature_key"] for e in entitlements}
    assert all(e["subscription_id"] == subscription_id for e in entitlements)
    card = await tenant.ok(
        "POST",
        f"/v1/customers/{customer}/payment-methods",
        json={"request_id": uuid.uuid4().hex, "payment_method_token": "tok_success"},
    )
    assert card["payment_method"]["is_default"] is True
    nobody = await tenant.call("GET", "/v1/customers/cus_nobody/access/hd_streaming")
    assert nobody.status_code == 404, nobody.text


async def test_subscription_reads_cancel_and_reactivate(tenant: TenantApi) -> None:
    customer, subscription_id = await subscribed(tenant)
    got = (await tenant.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]
    assert got["customer_id"] == customer and got["plan_id"] == "family_monthly"
    listed = (await tenant.ok("GET", f"/v1/customers/{customer}/subscriptions"))["subscriptions"]
    assert [s["id"] for s in listed] == [subscription_id]
    cancel = {"request_id": uuid.uuid4().hex, "timing": "at_period_end"}
    cancelled = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:cancel", json=cancel)
    assert cancelled["subscription"]["cancel_at_period_end"] is True
    assert (await tenant.ok("GET", f"/v1/customers/{customer}/access/hd_streaming"))["decision"]["allowed"]
    reactivated = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:reactivate", json=new_request())
    assert reactivated["subscription"]["cancel_at_period_end"] is False
    twice = await tenant.call("POST", f"/v1/subscriptions/{subscription_id}:resume", json=new_request())
    assert twice.status_code == 409, twice.text


async def test_pause_and_resume_follow_access(tenant: TenantApi) -> None:
    customer, subscription_id = await subscribed(tenant)

    async def access() -> Any:
        return (await tenant.ok("GET", f"/v1/customers/{customer}/access/hd_streaming"))["decision"]

    assert (await access())["allowed"]  # now also kept in the gateway's edge cache
    paused = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:pause", json=new_request())
    assert paused["subscription"]["state"] == "SUBSCRIPTION_STATE_PAUSED"
    await eventually(lambda: _denied(access))
    assert (await access())["denial_reason"] == "ACCESS_DENIAL_REASON_PAUSED"
    resumed = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:resume", json=new_request())
    assert resumed["subscription"]["state"] == "SUBSCRIPTION_STATE_ACTIVE"
    await eventually(lambda: _allowed(access))


async def _denied(probe: Any) -> bool:
    return not (await probe())["allowed"]


async def _allowed(probe: Any) -> bool:
    return bool((await probe())["allowed"])


async def test_plan_change_preview_and_upgrade(tenant: TenantApi) -> None:
    customer, subscription_id = await subscribed(tenant, plan="basic_monthly")
    preview = await tenant.ok(
        "POST", f"/v1/subscriptions/{subscription_id}:preview-change", json={"new_plan_id": "family_monthly"}
    )
    amount_due = int(preview["quote"]["amount_due"]["amount_minor"])
    assert amount_due > 0
    body = {"new_plan_id": "family_monthly", "request_id": uuid.uuid4().hex}
    changed = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:change-plan", json=body)
    assert changed["subscription"]["plan_id"] == "family_monthly"
    again = await tenant.ok("POST", f"/v1/subscriptions/{subscription_id}:change-plan", json=body)
    assert again["subscription"]["plan_id"] == "family_monthly"
    charges = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
    upgrade = [c for c in charges if int(c["gross"]["amount_minor"]) == amount_due]
    assert len(charges) == 2 and len(upgrade) == 1, charges  # the first period, then the upgrade, once
    assert upgrade[0]["subscription_id"] == subscription_id and upgrade[0]["state"] == "CHARGE_STATE_SUCCEEDED"

    async def hd() -> Any:
        return (await tenant.ok("GET", f"/v1/customers/{customer}/access/hd_streaming"))["decision"]

    await eventually(lambda: _allowed(hd))


async def test_charges_and_refunds(tenant: TenantApi) -> None:
    customer, _ = await subscribed(tenant, plan="basic_monthly")
    charges = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
    assert len(charges) == 1 and charges[0]["state"] == "CHARGE_STATE_SUCCEEDED"
    refund = await tenant.ok(
        "POST",
        f"/v1/charges/{charges[0]['id']}:refund",
        json={
            "request_id": uuid.uuid4().hex,
            "amount": {"currency_code": "USD", "amount_minor": 100},
            "reason": "goodwill",
        },
    )
    assert refund["refund"]["amount"]["amount_minor"] == "100"
    assert refund["charge"]["state"] == "CHARGE_STATE_PARTIALLY_REFUNDED"
    operator = await tenant.new_key("operator")
    full = await tenant.call("POST", f"/v1/charges/{charges[0]['id']}:refund", json=new_request(), key=operator)
    assert full.status_code == 200, full.text
    assert full.json()["charge"]["state"] == "CHARGE_STATE_REFUNDED"


async def test_api_keys_lifecycle(tenant: TenantApi) -> None:
    body = {"request_id": uuid.uuid4().hex, "display_name": "ci", "role": "viewer"}
    created = await tenant.ok("POST", "/v1/api-keys", json=body)
    key_id, secret = created["api_key"]["id"], created["secret"]
    listed = (await tenant.ok("GET", "/v1/api-keys"))["api_keys"]
    assert key_id in {k["id"] for k in listed}
    assert secret not in str(listed)
    assert (await tenant.call("GET", "/v1/plans", key=secret)).status_code == 200
    await tenant.ok("POST", f"/v1/api-keys/{key_id}:revoke", json=new_request())
    assert (await tenant.call("GET", "/v1/plans", key=secret)).status_code == 401


async def test_only_sandbox_tenants_advance_the_clock(suite: RunningSuite, tenant: TenantApi) -> None:
    advance = {"request_id": uuid.uuid4().hex, "advance_by_seconds": 60}
    moved = await tenant.ok("POST", "/v1/sandbox/clock:advance", json=advance)
    assert moved["now"]
    live = await suite.new_tenant(live=True, with_catalog=False)
    refused = await live.call("POST", "/v1/sandbox/clock:advance", json={**advance, "request_id": uuid.uuid4().hex})
    assert refused.status_code == 409
    assert "TENANT_NOT_SANDBOX" in refused.text


async def test_an_upgrade_whose_payment_is_declined_is_402_and_keeps_the_plan(tenant: TenantApi) -> None:
    customer, subscription_id = await subscribed(tenant, plan="basic_monthly")
    await tenant.ok(
        "POST",
        f"/v1/customers/{customer}/payment-methods",
        json={"request_id": uuid.uuid4().hex, "payment_method_token": "tok_do_not_honor"},
    )
    body = {"new_plan_id": "family_monthly", "request_id": uuid.uuid4().hex}
    declined = await tenant.call("POST", f"/v1/subscriptions/{subscription_id}:change-plan", json=body)
    assert declined.status_code == 402, declined.text
    assert (await tenant.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"][
        "plan_id"
    ] == "basic_monthly"
