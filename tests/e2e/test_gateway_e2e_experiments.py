"""A/B experiments through the real suite: sticky assignment, a checkout's payment counted as its variant's
conversion and revenue, shipping the winner, and the role matrix."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.helpers import eventually

EXPERIMENT = {
    "display_name": "Paywall price",
    "currency_code": "USD",
    "variants": [
        {
            "id": "control",
            "weight": 1,
            "kind": "VARIANT_KIND_PRICE_POINT",
            "price": {"currency_code": "USD", "amount_minor": "999"},
        },
        {"id": "week", "weight": 1, "kind": "VARIANT_KIND_TRIAL_LENGTH", "trial_days": 7},
    ],
}


def rid() -> str:
    return uuid.uuid4().hex


async def assign(tenant: TenantApi, experiment_id: str, customer: str, key: str | None = None) -> Any:
    body = {"request_id": rid(), "customer_id": customer}
    return await tenant.call("POST", f"/v1/experiments/{experiment_id}:assign", json=body, key=key)


async def test_assignment_is_sticky_and_a_payment_converts_its_variant(suite: RunningSuite):
    tenant = await suite.new_tenant()
    made = await tenant.ok("POST", "/v1/experiments", json={"request_id": rid(), "experiment": EXPERIMENT})
    experiment_id = made["experiment"]["id"]
    assert made["experiment"]["state"] == "EXPERIMENT_STATE_RUNNING"
    customers = [await tenant.customer() for _ in range(6)]

    first = {c: (await assign(tenant, experiment_id, c)).json()["variant"]["id"] for c in customers}
    again = {c: (await assign(tenant, experiment_id, c)).json()["variant"]["id"] for c in customers}
    assert first == again and set(first.values()) <= {"control", "week"}

    payer = customers[0]
    assert (await tenant.checkout(payer)).status_code == 200

    async def converted() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = (await tenant.ok("GET", f"/v1/experiments/{experiment_id}/results"))["results"]
        assert sum(int(r.get("converted", "0")) for r in results) == 1
        return results

    results = await eventually(converted)
    by_variant = {r["variant_id"]: r for r in results}
    assert [r["variant_id"] for r in results] == ["control", "week"]
    assert sum(int(r.get("exposed", "0")) for r in results) == 6
    paid = by_variant[first[payer]]
    assert int(paid["revenue"]["amount_minor"]) > 0 and paid["revenue"]["currency_code"] == "USD"
    assert 0 < float(by_variant["week"]["p_value"]) <= 1

    async def analysed() -> dict[str, Any]:
        now = datetime.now(UTC)
        window = {
            "start_time": (now - timedelta(days=1)).isoformat(),
            "end_time": (now + timedelta(days=1)).isoformat(),
        }
        report = await tenant.ok("GET", f"/v1/analytics/experiments/{experiment_id}", params=window)
        variants = {v["variant_id"]: v for v in report["variants"]}
        # NOTE: the projection reads assignments (promotions), conversions (lifecycle) and revenue (payments) from
        # three streams: any may land first.
        assert variants[first[payer]].get("converted") == "1"
        assert sum(int(v["assigned"]) for v in variants.values()) == 6
        assert variants[first[payer]]["revenue"] == [paid["revenue"]]
        return variants

    await eventually(analysed)

    shipped = await tenant.ok(
        "POST", f"/v1/experiments/{experiment_id}:end", json={"request_id": rid(), "ship_variant_id": "week"}
    )
    assert shipped["experiment"]["state"] == "EXPERIMENT_STATE_SHIPPED"
    newcomer = await tenant.customer()
    assert (await assign(tenant, experiment_id, newcomer)).json()["variant"]["id"] == "week"


async def test_who_may_configure_assign_and_read_and_another_tenant_sees_nothing(suite: RunningSuite):
    tenant = await suite.new_tenant()
    made = await tenant.ok("POST", "/v1/experiments", json={"request_id": rid(), "experiment": EXPERIMENT})
    experiment_id = made["experiment"]["id"]
    customer = await tenant.customer()
    viewer, operator = await tenant.new_key("viewer"), await tenant.new_key("operator")
    publishable = await tenant.new_key("publishable")
    assert (await tenant.call("GET", f"/v1/experiments/{experiment_id}/results", key=viewer)).status_code == 200
    assert (await assign(tenant, experiment_id, customer, key=viewer)).status_code == 403
    assert (await assign(tenant, experiment_id, customer, key=publishable)).status_code == 403
    assert (await assign(tenant, experiment_id, customer, key=operator)).status_code == 200
    create = {"request_id": rid(), "experiment": EXPERIMENT}
    assert (await tenant.call("POST", "/v1/experiments", json=create, key=operator)).status_code == 403
    one_variant = {**EXPERIMENT, "variants": EXPERIMENT["variants"][:1]}
    refused = await tenant.call("POST", "/v1/experiments", json={"request_id": rid(), "experiment": one_variant})
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["details"][1]["field_violations"][0]["field"] == "experiment.variants"
    other = await suite.new_tenant(with_catalog=False)
    assert (await other.call("GET", f"/v1/experiments/{experiment_id}")).status_code == 404
    assert (await assign(other, experiment_id, customer)).status_code == 404
