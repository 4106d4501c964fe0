"""What reaching a limit does, by policy: SUSPEND cuts the feature off (see test_limits_use_cases.py), ALLOW_OVERAGE
only alerts and the usage beyond it is billed, DOWNGRADE moves the subscription to another plan through lifecycle,
once per period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from azotte_metering.adapters import billing_proto
from azotte_metering.domain.charges import Period, UsageAccount
from azotte_metering.domain.limits import Limit, Measure, Policy
from azotte_metering.domain.pricing import PriceModel, PricingModel, UsagePrice
from azotte_metering.service_layer import limits, prices, rating
from azotte_metering.service_layer.limits import DowngradeOrder
from azotte_platform.errors import InvalidArgument, Unavailable
from azotte_platform.events.envelope import ReceivedEvent
from tests.unit.metering.billing_fakes import MARCH, TENANT, Billing, FakeLifecycle

D = Decimal
APRIL = Period(MARCH.end, datetime(2026, 5, 1, tzinfo=UTC))


def downgrading(value: int = 1000) -> Limit:
    return Limit(
        "lim_tokens",
        "cus_1",
        "ai.chat",
        Measure.UNITS,
        D(value),
        Policy.DOWNGRADE,
        "tokens",
        downgrade_plan_id="plan_lite",
    )


async def set_limit(billing: Billing, limit: Limit) -> None:
    await billing.run(lambda uow: limits.set_limit(uow, TENANT, limit))


def received(billing: Billing, index: int = -1) -> ReceivedEvent:
    """A published `limit.downgrade_ordered` as its consumer receives it."""
    event = billing.published("limit.downgrade_ordered")[index]
    return ReceivedEvent(
        event.id, event.type, "azotte/metering", TENANT, MARCH.start, "cus_1", "", event.payload.SerializeToString(), {}
    )


async def test_a_downgrade_limit_orders_one_plan_change_per_period_and_cuts_nothing() -> None:
    billing = Billing()
    await set_limit(billing, downgrading())
    await billing.usage("999")
    assert billing.published("limit.downgrade_ordered") == []
    await billing.usage("1")
    await billing.usage("500")
    assert len(billing.published("limit.downgrade_ordered")) == 1
    assert billing.published("limit.reached") == []
    state = (await billing.run(lambda uow: limits.get_limit(uow, TENANT, "lim_tokens")))[1]
    assert (state.downgraded, state.cut_off) == (True, False)
    order = billing_proto.downgrade_order(received(billing))
    assert order == DowngradeOrder("cus_1", "lim_tokens", "plan_lite", MARCH.start.isoformat())
    renewed = UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", APRIL)
    billing.clock.set(APRIL.start + timedelta(minutes=1))
    await billing.follow(renewed)
    await billing.usage("1000")
    assert len(billing.published("limit.downgrade_ordered")) == 2


async def test_the_downgrade_moves_the_subscription_once_whatever_is_redelivered() -> None:
    billing, lifecycle = Billing(), FakeLifecycle()
    order = DowngradeOrder("cus_1", "lim_tokens", "plan_lite", MARCH.start.isoformat())
    for _ in range(2):
        await billing.run(lambda uow: limits.downgrade(uow, lifecycle, TENANT, order))
    assert lifecycle.changed == {f"limit-downgrade:lim_tokens:{MARCH.start.isoformat()}": ("sub_1", "plan_lite")}


async def test_a_customer_already_on_the_plan_or_without_a_subscription_is_left_alone() -> None:
    billing, lifecycle = Billing(), FakeLifecycle()
    on_plan = DowngradeOrder("cus_1", "lim_tokens", "plan_ai", MARCH.start.isoformat())
    nobody = DowngradeOrder("cus_unknown", "lim_tokens", "plan_lite", MARCH.start.isoformat())
    await billing.run(lambda uow: limits.downgrade(uow, lifecycle, TENANT, on_plan))
    await billing.run(lambda uow: limits.downgrade(uow, lifecycle, TENANT, nobody))
    assert lifecycle.calls == 0


async def test_a_refused_downgrade_is_dropped_and_an_unreachable_lifecycle_is_retried() -> None:
    billing = Billing()
    order = DowngradeOrder("cus_1", "lim_tokens", "plan_lite", MARCH.start.isoformat())
    await billing.run(lambda uow: limits.downgrade(uow, FakeLifecycle(refusing=True), TENANT, order))
    with pytest.raises(Unavailable):
        await billing.run(lambda uow: limits.downgrade(uow, FakeLifecycle(down=True), TENANT, order))


async def test_allowing_overage_cuts_nothing_and_bills_the_usage_beyond_the_limit() -> None:
    billing = Billing()
    price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", PriceModel(PricingModel.PER_UNIT, unit_price=D(1)), {})
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))
    overage = Limit("lim_tokens", "cus_1", "ai.chat", Measure.UNITS, D(100), Policy.ALLOW_OVERAGE, "tokens")
    await set_limit(billing, overage)
    await billing.usage("150")
    assert billing.published("limit.reached") == [] and billing.published("limit.downgrade_ordered") == []
    charges = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    assert charges.due_minor == 150


def test_a_downgrade_plan_goes_with_the_downgrade_policy_only() -> None:
    with pytest.raises(InvalidArgument) as missing:
        Limit("l", "cus_1", "ai.chat", Measure.UNITS, D(1), Policy.DOWNGRADE, "tokens")
    assert missing.value.violations[0].field == "limit.downgrade_plan_id"
    with pytest.raises(InvalidArgument) as stray:
        Limit("l", "cus_1", "ai.chat", Measure.UNITS, D(1), Policy.SUSPEND, "tokens", downgrade_plan_id="plan_lite")
    assert stray.value.violations[0].field == "limit.downgrade_plan_id"
