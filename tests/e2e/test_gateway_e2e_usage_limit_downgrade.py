"""A DOWNGRADE usage limit through the gateway: usage past it moves the subscription to the limit's plan (lifecycle's
plan change, once), and the feature is never cut off."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_usage_billing import FEATURE, denial, metered_customer, report, rid
from tests.helpers import eventually


@pytest.fixture(scope="module")
async def tenant(suite: RunningSuite) -> TenantApi:
    return await suite.new_tenant()


async def test_usage_past_a_downgrade_limit_moves_the_subscription_to_its_plan(tenant: TenantApi) -> None:
    customer, event_type = await metered_customer(tenant)
    (subscription,) = (await tenant.ok("GET", f"/v1/customers/{customer}/subscriptions"))["subscriptions"]
    limit = {"limit_id": f"lite-{customer}", "feature_key": FEATURE, "measure": "UNITS", "value": "100"}
    body = {"meter_key": event_type, "policy": "DOWNGRADE", "downgrade_plan_id": "basic_monthly"}
    await tenant.ok(
        "POST", f"/v1/customers/{customer}/usage-limits", json={"request_id": rid(), "limit": {**limit, **body}}
    )
    await report(tenant, customer, event_type, 60, 50)

    async def downgraded() -> bool:
        read = await tenant.ok("GET", f"/v1/subscriptions/{subscription['id']}")
        return bool(read["subscription"]["plan_id"] == "basic_monthly")

    await eventually(downgraded, within=30)
    (shown,) = (await tenant.ok("GET", f"/v1/customers/{customer}/usage-limits"))["limits"]
    assert (shown["downgraded"], shown.get("cut_off", False)) == (True, False)
    assert await denial(tenant, customer) != "ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED"
