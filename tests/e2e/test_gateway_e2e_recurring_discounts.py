"""A repeating promotion through the gateway under sandbox time travel: the checkout pays the first period
discounted, the subscription carries the discount, the upcoming charge and a plan change's preview show it, the
renewal it lasts for is charged less, and the renewal after it is at full price."""

from __future__ import annotations

import uuid
from typing import Any

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_promotions import PRICE, checkout
from tests.helpers import eventually

DISCOUNT = 140  # 20 % of 699


def rid() -> str:
    return uuid.uuid4().hex


async def two_periods_off(tenant: TenantApi) -> tuple[str, str]:
    """An active promotion of 20 % off basic_monthly for two periods, and its shared code."""
    manager = await tenant.new_key("manager")
    promotion = {
        "display_name": "Two months 20 % off",
        "discount": {
            "kind": "DISCOUNT_KIND_PERCENT_OFF",
            "percent_basis_points": 2000,
            "duration": "DISCOUNT_DURATION_REPEATING",
            "duration_periods": 2,
        },
        "targets": {"plan_ids": ["basic_monthly"]},
    }
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion}, key=manager)
    promotion_id = created["promotion"]["id"]
    code = f"twomonths{uuid.uuid4().hex[:6]}"
    await tenant.ok(
        "POST", f"/v1/promotions/{promotion_id}/codes", json={"request_id": rid(), "code": code}, key=manager
    )
    await tenant.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()}, key=manager)
    return promotion_id, code


async def charges_after_a_month(tenant: TenantApi, customer: str, count: int) -> list[Any]:
    """Advance the tenant's sandbox clock 31 days and wait for the customer's `count`-th charge (newest first)."""
    await tenant.ok("POST", "/v1/sandbox/clock:advance", json={"request_id": rid(), "advance_by_days": 31})

    async def charged() -> list[Any]:
        charges = (await tenant.ok("GET", f"/v1/customers/{customer}/charges"))["charges"]
        return charges if len(charges) == count else []

    return await eventually(charged, within=30)


async def test_a_two_period_discount_discounts_the_checkout_and_one_renewal(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    promotion_id, code = await two_periods_off(tenant)
    customer = await tenant.customer()
    paid = await checkout(tenant, customer, code)
    assert paid.status_code == 200, paid.text
    assert paid.json()["charge"]["discount"]["amount_minor"] == str(DISCOUNT)
    subscription = paid.json()["subscription"]
    assert subscription["renewal_discount"] == {
        "promotion_id": promotion_id,
        "percent_basis_points": 2000,
        "renewals_left": 1,
    }
    upcoming = await tenant.ok("GET", f"/v1/subscriptions/{subscription['id']}/upcoming-charge")
    assert (upcoming["amount"]["amount_minor"], upcoming["discount"]["amount_minor"]) == (
        str(PRICE - DISCOUNT),
        str(DISCOUNT),
    )
    preview = {"new_plan_id": "family_monthly"}
    path = f"/v1/subscriptions/{subscription['id']}:preview-change"
    quote = (await tenant.ok("POST", path, json=preview))["quote"]
    next_price = int(quote["next_period_amount"]["amount_minor"])
    assert next_price > PRICE  # the preview shows the discount the subscription carries, off the new plan's price
    assert quote["next_period_discount"]["amount_minor"] == str((next_price * 2000 + 5000) // 10000)

    renewed = (await charges_after_a_month(tenant, customer, 2))[0]
    assert (renewed["net"]["amount_minor"], renewed["discount"]["amount_minor"]) == (
        str(PRICE - DISCOUNT),
        str(DISCOUNT),
    )

    async def used_up() -> bool:  # the renewal is committed just after its charge
        read = (await tenant.ok("GET", f"/v1/subscriptions/{subscription['id']}"))["subscription"]
        return "renewal_discount" not in read

    await eventually(used_up)  # the two periods are used up

    full = (await charges_after_a_month(tenant, customer, 3))[0]
    assert (full["net"]["amount_minor"], full.get("discount", {}).get("amount_minor", "0")) == (str(PRICE), "0")
