"""A repeating promotion with a budget through the gateway under sandbox time travel: the checkout's and each
renewal's discount count against the budget, the budget pays for two of the three renewals the discount would last,
and the third is charged at full price, its discount ended; the promotion's usage shows exactly the budget spent."""

from __future__ import annotations

import uuid

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_promotions import PRICE, checkout
from tests.e2e.test_gateway_e2e_recurring_discounts import DISCOUNT, charges_after_a_month
from tests.helpers import eventually

BUDGET = 3 * DISCOUNT  # the checkout and two renewals


def rid() -> str:
    return uuid.uuid4().hex


async def four_periods_off_with_budget(tenant: TenantApi) -> tuple[str, str]:
    """An active promotion of 20 % off basic_monthly for four periods, its USD budget paying for three discounts."""
    manager = await tenant.new_key("manager")
    promotion = {
        "display_name": "Four months 20 % off, budgeted",
        "discount": {
            "kind": "DISCOUNT_KIND_PERCENT_OFF",
            "percent_basis_points": 2000,
            "duration": "DISCOUNT_DURATION_REPEATING",
            "duration_periods": 4,
        },
        "targets": {"plan_ids": ["basic_monthly"]},
        "limits": {"budgets": [{"currency_code": "USD", "amount_minor": str(BUDGET)}]},
    }
    created = await tenant.ok("POST", "/v1/promotions", json={"request_id": rid(), "promotion": promotion}, key=manager)
    promotion_id = created["promotion"]["id"]
    code = f"budgeted{uuid.uuid4().hex[:6]}"
    await tenant.ok(
        "POST", f"/v1/promotions/{promotion_id}/codes", json={"request_id": rid(), "code": code}, key=manager
    )
    await tenant.ok("POST", f"/v1/promotions/{promotion_id}:activate", json={"request_id": rid()}, key=manager)
    return promotion_id, code


async def test_the_budget_pays_for_two_of_three_renewal_discounts(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    promotion_id, code = await four_periods_off_with_budget(tenant)
    customer = await tenant.customer()
    paid = await checkout(tenant, customer, code)
    assert paid.status_code == 200, paid.text
    assert paid.json()["charge"]["discount"]["amount_minor"] == str(DISCOUNT)
    subscription_id = paid.json()["subscription"]["id"]

    for renewal in (1, 2):
        renewed = (await charges_after_a_month(tenant, customer, 1 + renewal))[0]
        assert (renewed["net"]["amount_minor"], renewed["discount"]["amount_minor"]) == (
            str(PRICE - DISCOUNT),
            str(DISCOUNT),
        ), renewal

    full = (await charges_after_a_month(tenant, customer, 4))[0]
    assert (full["net"]["amount_minor"], full.get("discount", {}).get("amount_minor", "0")) == (str(PRICE), "0")

    async def discount_ended() -> bool:  # the renewal is committed just after its charge
        read = (await tenant.ok("GET", f"/v1/subscriptions/{subscription_id}"))["subscription"]
        return "renewal_discount" not in read

    await eventually(discount_ended)
    usage = (await tenant.ok("GET", f"/v1/promotions/{promotion_id}"))["promotion"]["usage"]
    assert usage["confirmed_discount"] == [{"currency_code": "USD", "amount_minor": str(BUDGET)}]
