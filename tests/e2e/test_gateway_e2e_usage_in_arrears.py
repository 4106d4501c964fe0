"""Usage charged in arrears through the gateway: the upcoming charge shows the recurring price and the usage so far,
the renewal charges both as one charge with its lines, and usage of the billed period reported afterwards is an
adjustment on the next charge."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_usage_billing import PLAN, report, rid
from tests.helpers import eventually


@pytest.fixture(scope="module")
async def tenant(suite: RunningSuite) -> TenantApi:
    """A sandbox tenant of the module's own: it moves its clock."""
    return await suite.new_tenant()


def kinds(lines: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [
        (line["kind"].removeprefix("CHARGE_LINE_KIND_"), line.get("quantity", ""), line["amount"]["amount_minor"])
        for line in lines
    ]


async def test_the_renewal_charges_the_periods_usage_with_its_price_as_one_charge_with_lines(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    checkout = await tenant.checkout(customer, plan=PLAN)
    assert checkout.status_code == 200, checkout.text
    subscription = checkout.json()["subscription"]["id"]
    event_type = f"ai.arrears.{uuid.uuid4().hex[:6]}"
    meter = {"key": event_type, "display_name": "tokens", "event_type": event_type, "value_path": "$.tokens"}
    await tenant.ok(
        "POST", "/v1/meters", json={"request_id": rid(), "meter": {**meter, "aggregation": "AGGREGATION_SUM"}}
    )
    price = {"storefront_id": "us", "plan_id": PLAN, "meter_key": event_type, "currency_code": "USD"}
    await tenant.ok(
        "POST",
        "/v1/usage-prices",
        json={"request_id": rid(), "price": {**price, "model": "PER_UNIT", "unit_price": "1"}},
    )
    await report(tenant, customer, event_type, 200, 100)

    async def upcoming_with_usage() -> dict[str, Any]:
        upcoming = await tenant.ok("GET", f"/v1/subscriptions/{subscription}/upcoming-charge")
        return upcoming if upcoming.get("usage_due", {}).get("amount_minor") == "300" else {}

    upcoming = await eventually(upcoming_with_usage)
    recurring = upcoming["amount"]["amount_minor"]
    assert kinds(upcoming["lines"]) == [("RECURRING", "", recurring), ("USAGE", "300", "300")]

    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 31})

    async def renewal() -> dict[str, Any]:
        charges = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
        return charges[0] if len(charges) == 2 else {}

    charge = await eventually(renewal, within=30)
    assert kinds(charge["lines"]) == [("RECURRING", "", recurring), ("USAGE", "300", "300")]
    assert charge["lines"][1]["meter_key"] == event_type
    assert int(charge["net"]["amount_minor"]) <= int(recurring) + 300 <= int(charge["gross"]["amount_minor"])

    now = datetime.now(UTC)  # the renewal is dated on the tenant's clock, a month ahead
    window = {"start_time": (now - timedelta(days=1)).isoformat(), "end_time": (now + timedelta(days=60)).isoformat()}

    async def usage_revenue() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = (await tenant.ok("GET", "/v1/analytics/usage", params=window)).get("rows", [])
        assert rows
        return rows

    assert [
        (
            r["meter_key"],
            r["currency"],
            r["quantity"],
            r["billed_minor"],
            r["charged_minor"],
            r["billed_per_unit_minor"],
        )
        for r in await eventually(usage_revenue)
    ] == [(event_type, "USD", "300", "300", "300", "1.000000")]

    # NOTE: the tenant's clock is a month ahead: usage stamped with today is late, of the period just billed.
    await report(tenant, customer, event_type, 50)

    async def adjusted() -> dict[str, Any]:
        upcoming = await tenant.ok("GET", f"/v1/subscriptions/{subscription}/upcoming-charge")
        return upcoming if upcoming.get("usage_due", {}).get("amount_minor") == "50" else {}

    next_charge = await eventually(adjusted)
    assert kinds(next_charge["lines"]) == [("RECURRING", "", recurring), ("USAGE_ADJUSTMENT", "50", "50")]
