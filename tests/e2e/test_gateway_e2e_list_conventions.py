"""The same list conventions over REST on entitlements, payment methods, credit balances and policy versions: a
`filter` narrows, an `order_by` reverses, a bad filter is refused naming `filter`, and a page token only
continues the query it was issued for."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_endpoints import subscribed


def rid() -> str:
    return uuid.uuid4().hex


def field_of(answer: Any) -> str:
    """The field a 400 names."""
    assert answer.status_code == 400, answer.text
    return str(answer.json()["error"]["details"][1]["field_violations"][0]["field"])


async def check_conventions(
    tenant: TenantApi,
    path: str,
    items: str,
    key: Callable[[dict[str, Any]], str],
    *,
    narrow: str,
    reverse: str,
    other: str,
) -> None:
    """`narrow` keeps fewer items than no filter, `reverse` lists them backwards, `other` is another filter."""

    async def listed(**params: Any) -> tuple[list[str], str]:
        answer = await tenant.ok("GET", path, params=params)
        return [key(item) for item in answer.get(items, [])], answer.get("next_page_token", "")

    everything, _ = await listed()
    assert len(everything) >= 2, everything
    narrowed, _ = await listed(filter=narrow)
    assert narrowed and set(narrowed) < set(everything), (narrowed, everything)
    assert (await listed(order_by=reverse))[0] == everything[::-1]

    assert field_of(await tenant.call("GET", path, params={"filter": "no_such_field = 1"})) == "filter"
    assert field_of(await tenant.call("GET", path, params={"order_by": "no_such_field"})) == "order_by"
    first, token = await listed(order_by=reverse, page_size=1)
    assert token and first == everything[-1:]
    assert (await listed(order_by=reverse, page_size=1, page_token=token))[0] == everything[-2:-1]
    refused = await tenant.call("GET", path, params={"filter": other, "order_by": reverse, "page_token": token})
    assert field_of(refused) == "page_token"


async def test_entitlements_filter_by_source_and_order_by_feature(tenant: TenantApi) -> None:
    customer, _ = await subscribed(tenant)
    end = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    comp = {"request_id": rid(), "feature_keys": ["uhd_streaming"], "end_time": end, "reason": "case 9"}
    await tenant.ok("POST", f"/v1/customers/{customer}/grants", json=comp)
    await check_conventions(
        tenant,
        f"/v1/customers/{customer}/entitlements",
        "entitlements",
        lambda e: str(e["feature_key"]),
        narrow="source = manual",
        reverse="feature_key desc",
        other="source = subscription",
    )
    manual = await tenant.ok("GET", f"/v1/customers/{customer}/entitlements", params={"filter": "source = manual"})
    assert [e["feature_key"] for e in manual["entitlements"]] == ["uhd_streaming"]


async def test_payment_methods_filter_by_default_and_order_by_create_time(tenant: TenantApi) -> None:
    customer, _ = await subscribed(tenant)
    path = f"/v1/customers/{customer}/payment-methods"
    await tenant.ok("POST", path, json={"request_id": rid(), "payment_method_token": "tok_success"})
    await check_conventions(
        tenant,
        path,
        "payment_methods",
        lambda m: str(m["id"]),
        narrow="is_default = true AND type = CARD",
        reverse="create_time desc",
        other="type = PAYPAL",
    )
    listed = (await tenant.ok("GET", path, params={"filter": "type = PAYMENT_METHOD_TYPE_CARD"}))["payment_methods"]
    assert {m["type"] for m in listed} == {"PAYMENT_METHOD_TYPE_CARD"} and len(listed) == 2
    assert (await tenant.ok("GET", path, params={"filter": "type = PAYPAL"})).get("payment_methods", []) == []


async def test_credit_balances_filter_and_order_by_currency(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    for currency in ("EUR", "USD"):
        body = {"request_id": rid(), "amount": {"currency_code": currency, "amount_minor": 100}, "reason": "case 9"}
        await tenant.ok("POST", f"/v1/customers/{customer}/credits:grant", json=body)
    await check_conventions(
        tenant,
        f"/v1/customers/{customer}/credits",
        "balances",
        lambda b: str(b["balance"]["currency_code"]),
        narrow="currency_code = USD",
        reverse="currency_code desc",
        other="currency_code = EUR",
    )


@pytest.fixture(scope="module")
async def own(suite: RunningSuite) -> TenantApi:
    return await suite.new_tenant()


async def test_policy_versions_filter_by_plan_and_order_by_version(own: TenantApi) -> None:
    for body in (
        {"rules": {"grace_period": "432000s"}, "update_mask": "grace_period"},
        {"plan_id": "premium_monthly", "rules": {"hold_period": "864000s"}, "update_mask": "hold_period"},
    ):
        await own.ok("PATCH", "/v1/lifecycle-policy", json={"request_id": rid(), **body})
    path = "/v1/lifecycle-policy/versions"
    await check_conventions(
        own,
        path,
        "versions",
        lambda v: str(v["version"]),
        narrow="plan_id = premium_monthly",
        reverse="version",
        other='plan_id = ""',
    )
    newest = (await own.ok("GET", path))["versions"][0]
    premium = (await own.ok("GET", path, params={"filter": "plan_id = premium_monthly"}))["versions"]
    assert [v["version"] for v in premium] == [newest["version"]]
    since = {"filter": f'update_time > "{newest["update_time"]}"'}
    assert (await own.ok("GET", path, params=since)).get("versions", []) == []
