"""Rating meters that do not add up — LATEST (a gauge such as seats), MAX, MIN, AVG — the same whatever order their
`usage.recorded` arrive in: a late report of an older value, or replicas rating a customer's events out of order,
never bill an older gauge reading than the newest one."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from functools import partial
from itertools import permutations

import pytest

from azotte_metering.domain.pricing import PriceModel, PricingModel, UsagePrice
from azotte_metering.service_layer import prices, rating
from azotte_metering.service_layer.rating import RecordedUsage
from tests.unit.metering.billing_fakes import T0, TENANT, Billing

D = Decimal
SEAT_MINOR = 500


def reading(number: int, minutes: int, quantity: str, count: int = 1) -> RecordedUsage:
    """A `usage.recorded` of cus_1's `seats`: `count` events, the last `minutes` into the period, of aggregate
    `quantity`."""
    at = T0 + timedelta(minutes=minutes)
    return RecordedUsage(f"ev_{number}", "cus_1", "seats", "", {}, at - timedelta(seconds=30), at, count, D(quantity))


READINGS = [reading(1, 10, "4", 2), reading(2, 30, "9", 1), reading(3, 20, "12", 3)]


async def rated(aggregation: str, readings: list[RecordedUsage], *, together: bool) -> tuple[D, int]:
    """cus_1's period quantity of `seats` (a meter of `aggregation`, per seat 5 USD when priceable) and its
    amount, after rating `readings` in that order, one per transaction or all in one."""
    billing = Billing()
    billing.uow.data.meters[(TENANT, "seats")] = aggregation
    if aggregation in ("latest", "max"):
        price = UsagePrice("sf_us", "plan_ai", "seats", "USD", PriceModel(PricingModel.PER_UNIT, D(SEAT_MINOR)), {})
        await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))
    usages = [replace(one, aggregation=aggregation) for one in readings]
    for batch in [usages] if together else [[one] for one in usages]:
        await billing.run(partial(rating.rate_usage, resets=billing.resets, tenant_id=TENANT, usages=batch))
    (total,) = [t for (_, _, _, meter, _), t in billing.uow.data.totals.items() if meter == "seats"]
    return total.quantity, total.rated_minor


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        ("latest", D(9)),  # the reading of minute 30, whichever was rated last
        ("max", D(12)),
        ("min", D(4)),
        ("avg", (D(4) * 2 + D(9) + D(12) * 3) / 6),  # weighted by the events behind each reading
    ],
)
@pytest.mark.parametrize("together", [False, True])
async def test_a_gauge_is_rated_the_same_in_any_arrival_order(aggregation: str, expected: D, together: bool) -> None:
    results = {await rated(aggregation, list(order), together=together) for order in permutations(READINGS)}
    assert {quantity for quantity, _ in results} == {expected}
    amounts = {amount for _, amount in results}
    assert amounts == ({int(expected) * SEAT_MINOR} if aggregation in ("latest", "max") else {0})


async def test_of_two_readings_at_the_same_time_the_larger_counts_as_the_latest_as_current_usage_says() -> None:
    tied = [reading(1, 15, "3"), reading(2, 15, "7")]
    for order in permutations(tied):
        assert await rated("latest", list(order), together=False) == (D(7), 7 * SEAT_MINOR)


async def test_an_average_of_batches_naming_no_events_is_the_latest_batchs_rather_than_a_failure() -> None:
    empty = [reading(1, 10, "4", 0), reading(2, 20, "6", 0)]  # as a malformed usage.recorded would say
    assert await rated("avg", empty, together=False) == (D(6), 0)
