"""Sandbox time is per tenant: a tenant advancing its clock a month renews only its own subscriptions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from tests.e2e.conftest import RunningSuite
from tests.e2e.test_gateway_e2e_endpoints import subscribed
from tests.helpers import eventually


async def test_two_sandbox_tenants_one_advances_a_month_only_its_subscriptions_renew(suite: RunningSuite) -> None:
    ahead, behind = await suite.new_tenant(), await suite.new_tenant()
    ahead_customer, ahead_sub = await subscribed(ahead, plan="basic_monthly")
    behind_customer, behind_sub = await subscribed(behind, plan="basic_monthly")
    ahead_before = (await ahead.ok("GET", f"/v1/subscriptions/{ahead_sub}"))["subscription"]
    behind_before = (await behind.ok("GET", f"/v1/subscriptions/{behind_sub}"))["subscription"]

    month = {"request_id": uuid.uuid4().hex, "advance_by_days": 31}
    moved = await ahead.ok("POST", "/v1/sandbox/clock:advance", json=month)
    assert datetime.fromisoformat(moved["now"]) >= datetime.now(UTC) + timedelta(days=30)

    async def renewed() -> bool:
        charges = (await ahead.ok("GET", f"/v1/customers/{ahead_customer}/charges"))["charges"]
        sub = (await ahead.ok("GET", f"/v1/subscriptions/{ahead_sub}"))["subscription"]
        return len(charges) == 2 and sub["current_period_start_time"] == ahead_before["current_period_end_time"]

    await eventually(renewed)
    # the other sandbox tenant's clock did not move: nothing of it renewed, its period is as it was
    assert len((await behind.ok("GET", f"/v1/customers/{behind_customer}/charges"))["charges"]) == 1
    assert (await behind.ok("GET", f"/v1/subscriptions/{behind_sub}"))["subscription"] == behind_before

    # its own advance moves only its own clock: a day on, it is a day (not a month and a day) ahead
    day = {"request_id": uuid.uuid4().hex, "advance_by_days": 1}
    behind_moved = await behind.ok("POST", "/v1/sandbox/clock:advance", json=day)
    assert datetime.fromisoformat(behind_moved["now"]) < datetime.now(UTC) + timedelta(days=2)


async def test_a_live_tenants_time_never_moves(suite: RunningSuite) -> None:
    sandbox = await suite.new_tenant(with_catalog=False)
    live = await suite.new_tenant(live=True, with_catalog=False)
    refused = await live.call(
        "POST", "/v1/sandbox/clock:advance", json={"request_id": uuid.uuid4().hex, "advance_by_days": 31}
    )
    assert refused.status_code == 409 and "TENANT_NOT_SANDBOX" in refused.text
    await sandbox.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": uuid.uuid4().hex, "advance_by_days": 31})
    # a key created now by the live tenant is stamped with wall time, not any sandbox tenant's
    created = await live.ok(
        "POST", "/v1/api-keys", json={"request_id": uuid.uuid4().hex, "display_name": "probe", "role": "viewer"}
    )
    assert datetime.fromisoformat(created["api_key"]["create_time"]) < datetime.now(UTC) + timedelta(minutes=1)
