"""Contracts through the gateway under time travel: one granting only custom features gives exactly those (a quota
with its limit, nothing of any plan); one starting in three days gives no access until the tenant's clock passes its
start, then access; a back-dated one invoices its first period from its start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from azotte_platform.periods import add_months
from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_contracts import CATALOG as CONTRACTS_CATALOG
from tests.e2e.test_gateway_e2e_contracts import advance_to, at, b2b_tenant, invoices_of, parsed, rid, sign, terms
from tests.helpers import eventually

# NOTE: the contracts' catalog with a token quota, of which the enterprise plan grants 1000.
CATALOG = CONTRACTS_CATALOG.replace(
    b"plans:\n", b"  - {key: ai_tokens, name: AI tokens, kind: quota, unit: tokens, reset_period: month}\nplans:\n"
).replace(b"prices:\n", b"      - {key: ai_tokens, limit: 1000}\nprices:\n")
MONTHLY = {"unit": "INTERVAL_UNIT_MONTH", "count": 1}


async def decision(tenant: TenantApi, customer: str, feature: str) -> dict[str, Any]:
    return dict((await tenant.ok("GET", f"/v1/customers/{customer}/access/{feature}"))["decision"])


async def contract_of(tenant: TenantApi, contract_id: str) -> dict[str, Any]:
    return dict((await tenant.ok("GET", f"/v1/contracts/{contract_id}"))["contract"])


async def test_a_contract_of_custom_features_only_grants_exactly_them(suite: RunningSuite) -> None:
    tenant = await b2b_tenant(suite, CATALOG)
    customer = await tenant.customer("DE")
    features = [{"feature_key": "ai_tokens", "limit": 250_000}]
    contract = await sign(tenant, customer, plan_id="", features=features, interval=MONTHLY)
    assert contract["state"] == "SUBSCRIPTION_STATE_ACTIVE" and contract["terms"]["features"] == [
        {"feature_key": "ai_tokens", "limit": "250000"}
    ]

    async def tokens_granted() -> dict[str, Any]:
        tokens = await decision(tenant, customer, "ai_tokens")
        return tokens if tokens.get("allowed") else {}

    tokens = await eventually(tokens_granted, within=30)
    assert (tokens["quota_limit"], tokens["remaining_quota"]) == ("250000", "250000")
    assert not (await decision(tenant, customer, "api_access")).get("allowed")  # the plan's, not the contract's
    entitlements = (await tenant.ok("GET", f"/v1/customers/{customer}/entitlements"))["entitlements"]
    assert [e["feature_key"] for e in entitlements] == ["ai_tokens"]

    # An amendment of the features reaches access.
    more = {**contract["terms"], "features": [{"feature_key": "ai_tokens", "limit": 400_000}]}
    await tenant.ok("POST", f"/v1/contracts/{contract['id']}:amend", json={"request_id": rid(), "terms": more})

    async def raised() -> bool:
        return (await decision(tenant, customer, "ai_tokens")).get("quota_limit") == "400000"

    await eventually(raised, within=30)

    unknown = {**contract["terms"], "features": [{"feature_key": "gpu_hours"}]}
    body = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu", "terms": unknown}
    refused = await tenant.call("POST", "/v1/contracts", json=body)
    assert refused.status_code == 400, refused.text
    fields = [v["field"] for d in refused.json()["error"]["details"] for v in d.get("field_violations", [])]
    assert fields == ["terms.features[0].feature_key"]


async def test_a_contract_starting_in_three_days_gives_access_only_from_its_start(suite: RunningSuite) -> None:
    tenant = await b2b_tenant(suite, CATALOG)
    customer = await tenant.customer("DE")
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    body: dict[str, Any] = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu"}
    body |= {"terms": terms(), "start_time": at(start)}
    contract = (await tenant.ok("POST", "/v1/contracts", json=body))["contract"]
    assert contract["scheduled"] and contract["state"] == "SUBSCRIPTION_STATE_UNSPECIFIED"
    assert parsed(contract["start_time"]) == start

    await advance_to(tenant, start - timedelta(hours=1))
    assert (await contract_of(tenant, contract["id"]))["scheduled"]
    assert not (await decision(tenant, customer, "api_access")).get("allowed")

    await advance_to(tenant, start + timedelta(hours=1))

    async def started() -> bool:
        current = await contract_of(tenant, contract["id"])
        return current["state"] == "SUBSCRIPTION_STATE_ACTIVE" and not current["scheduled"]

    await eventually(started, within=30)

    async def allowed() -> bool:
        return bool((await decision(tenant, customer, "api_access")).get("allowed"))

    assert await eventually(allowed, within=30)
    subscription = await tenant.ok("GET", f"/v1/subscriptions/{contract['subscription_id']}")
    assert parsed(subscription["subscription"]["current_period_start_time"]) == start


async def test_a_back_dated_contracts_first_invoice_covers_the_period_from_its_start(suite: RunningSuite) -> None:
    tenant = await b2b_tenant(suite, CATALOG)
    customer = await tenant.customer("DE")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=10)
    body: dict[str, Any] = {"request_id": rid(), "customer_id": customer, "storefront_id": "eu"}
    body |= {"terms": terms(), "start_time": at(start)}
    contract = (await tenant.ok("POST", "/v1/contracts", json=body))["contract"]
    assert parsed(contract["start_time"]) == start and not contract["scheduled"]

    end = add_months(start, 1)
    await advance_to(tenant, end + timedelta(hours=1))
    (invoice,) = await invoices_of(tenant, contract["subscription_id"], 1)
    recurring = invoice["lines"][0]
    assert recurring["description"] == f"enterprise_monthly, {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    assert invoice["period_key"] == "1"

    too_early = {**body, "request_id": rid(), "start_time": at(datetime.now(UTC) - timedelta(days=40))}
    refused = await tenant.call("POST", "/v1/contracts", json=too_early)
    assert refused.status_code == 400, refused.text
    fields = [v["field"] for d in refused.json()["error"]["details"] for v in d.get("field_violations", [])]
    assert fields == ["start_time"]
