"""Role enforcement and tenant isolation through the real suite."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.conftest import RunningSuite, TenantApi


@pytest.fixture(scope="module")
async def sold(tenant: TenantApi) -> tuple[str, str, str]:
    customer = await tenant.customer()
    answer = await tenant.checkout(customer, plan="family_monthly")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    return customer, body["subscription"]["id"], body["charge"]["id"]


async def test_viewers_read_but_cannot_write(tenant: TenantApi, sold: tuple[str, str, str]) -> None:
    customer, subscription_id, charge_id = sold
    viewer = await tenant.new_key("viewer")
    for path in (f"/v1/subscriptions/{subscription_id}", f"/v1/customers/{customer}/charges", "/v1/plans"):
        assert (await tenant.call("GET", path, key=viewer)).status_code == 200
    writes = [
        ("POST", f"/v1/subscriptions/{subscription_id}:cancel", {}),
        ("POST", f"/v1/subscriptions/{subscription_id}:pause", {}),
        ("POST", f"/v1/charges/{charge_id}:refund", {}),
        ("POST", "/v1/api-keys", {"display_name": "x", "role": "viewer"}),
    ]
    for method, path, body in writes:
        answer = await tenant.call(method, path, json=body, key=viewer)
        assert answer.status_code == 403, (path, answer.text)
    checkout = await tenant.checkout(customer, key=viewer)
    assert checkout.status_code == 403


async def test_operators_cannot_change_the_catalog_or_plans(tenant: TenantApi, sold: tuple[str, str, str]) -> None:
    _, subscription_id, _ = sold
    operator = await tenant.new_key("operator")
    catalog = await tenant.apply_catalog(key=operator)
    assert catalog.status_code == 403 and "apply_catalog" in catalog.text
    change = await tenant.call(
        "POST", f"/v1/subscriptions/{subscription_id}:change-plan", key=operator, json={"new_plan_id": "basic_monthly"}
    )
    assert change.status_code == 403
    manager = await tenant.new_key("manager")
    dry_run = await tenant.apply_catalog(key=manager, dry_run=True)
    assert dry_run.status_code == 200, dry_run.text


async def test_publishable_keys_cannot_read_customer_data(tenant: TenantApi, sold: tuple[str, str, str]) -> None:
    customer, subscription_id, _ = sold
    publishable = await tenant.new_key("publishable")
    for path in (
        f"/v1/customers/{customer}",
        f"/v1/customers/{customer}/subscriptions",
        f"/v1/customers/{customer}/charges",
        f"/v1/subscriptions/{subscription_id}",
        "/v1/catalog",
    ):
        answer = await tenant.call("GET", path, key=publishable)
        assert answer.status_code == 403, (path, answer.text)
    access = await tenant.call("GET", f"/v1/customers/{customer}/access/hd_streaming", key=publishable)
    assert access.status_code == 200 and access.json()["decision"]["allowed"] is True


async def test_another_tenant_cannot_see_any_of_it(suite: RunningSuite, sold: tuple[str, str, str]) -> None:
    customer, subscription_id, charge_id = sold
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", f"/v1/customers/{customer}")).status_code == 404
    assert (await other.call("GET", f"/v1/subscriptions/{subscription_id}")).status_code == 404
    cancel = await other.call(
        "POST", f"/v1/subscriptions/{subscription_id}:cancel", json={"request_id": uuid.uuid4().hex}
    )
    assert cancel.status_code == 404
    refund = await other.call("POST", f"/v1/charges/{charge_id}:refund", json={"request_id": uuid.uuid4().hex})
    assert refund.status_code == 404
    for read in ("charges", "subscriptions", "entitlements", "access/hd_streaming"):
        assert (await other.call("GET", f"/v1/customers/{customer}/{read}")).status_code == 404, read
    assert (await other.ok("GET", "/v1/plans"))["plans"] == []
    assert (await other.call("GET", "/v1/plans/family_monthly")).status_code == 404
