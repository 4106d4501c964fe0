"""200 customers race through the gateway's REST checkout for a code limited to 50: exactly 50 pay the discounted
price and redeem it, the other 150 are refused before anything is charged, and no charge goes without its
redemption nor a redemption without its charge."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import httpx

from tests.e2e.conftest import TenantApi
from tests.e2e.test_gateway_e2e_promotions import DISCOUNT, PRICE, premiere

CHECKOUTS = 200
LIMIT = 50
SETUP_CONCURRENCY = 20  # customers are made and read back a few at a time; only the checkouts race
T = TypeVar("T")


async def bounded(calls: list[Callable[[], Awaitable[T]]]) -> list[T]:
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def run(call: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await call()

    return await asyncio.gather(*(run(call) for call in calls))


async def new_customer(tenant: TenantApi, operator: str) -> str:
    external = uuid.uuid4().hex[:12]
    body = {"request_id": uuid.uuid4().hex, "external_id": external, "email": f"{external}@example.com"}
    created = await tenant.ok("POST", "/v1/customers", json={**body, "country_code": "US"}, key=operator)
    return str(created["customer"]["id"])


async def check_out(tenant: TenantApi, customer: str, code: str, key: str) -> httpx.Response:
    body = {
        "request_id": uuid.uuid4().hex,
        "customer_id": customer,
        "storefront_id": "us",
        "plan_id": "basic_monthly",
        "channel": "web",
        "payment_method_token": "tok_success",
        "promotion_code": code,
    }
    return await tenant.call("POST", "/v1/checkout", json=body, key=key)


def reason(answer: httpx.Response) -> str:
    if answer.status_code == 200:
        return "paid"
    return f"{answer.status_code} {answer.json()['error']['details'][0]['reason']}"


async def test_200_concurrent_checkouts_of_a_code_limited_to_50_pay_and_redeem_exactly_50(tenant: TenantApi) -> None:
    manager, operator, cashier, viewer = [
        await tenant.new_key(role) for role in ("manager", "operator", "operator", "viewer")
    ]
    promotion_id, code = await premiere(tenant, manager, code_limit=LIMIT)
    customers = await bounded([partial(new_customer, tenant, operator) for _ in range(CHECKOUTS)])

    answers = await asyncio.gather(*(check_out(tenant, customer, code, cashier) for customer in customers))

    assert Counter(reason(a) for a in answers) == {"paid": LIMIT, "409 PROMOTION_LIMIT_REACHED": CHECKOUTS - LIMIT}
    paid = [a.json() for a in answers if a.status_code == 200]
    assert all(
        (p["charge"]["net"]["amount_minor"], p["promotion"]["discount"]["amount_minor"])
        == (str(PRICE - DISCOUNT), str(DISCOUNT))
        for p in paid
    )
    promotion = (await tenant.ok("GET", f"/v1/promotions/{promotion_id}", key=viewer))["promotion"]
    usage = promotion["usage"]
    assert (usage["confirmed_count"], usage["reserved_count"]) == (str(LIMIT), "0")
    assert [m["amount_minor"] for m in usage["confirmed_discount"]] == [str(LIMIT * DISCOUNT)]

    async def charges_of(customer: str) -> list[Any]:
        return list((await tenant.ok("GET", f"/v1/customers/{customer}/charges", key=viewer))["charges"])

    charges = dict(zip(customers, await bounded([partial(charges_of, c) for c in customers]), strict=True))
    winners = {p["subscription"]["customer_id"] for p in paid}
    # a charge for every redemption and none for a refused checkout: each winner paid once, discounted
    assert {c for c, listed in charges.items() if listed} == winners
    assert all(
        [(x["state"], x["discount"]["amount_minor"]) for x in charges[c]] == [("CHARGE_STATE_SUCCEEDED", str(DISCOUNT))]
        for c in winners
    )
