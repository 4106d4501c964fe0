"""Limits acting on usage as it arrives: alerts once per threshold and period, cut-offs announced once and
released by a new period, a top-up, a raised limit or the limit's removal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from azotte.metering.v1 import events_pb2
from azotte_metering.domain.charges import Period, UsageAccount
from azotte_metering.domain.limits import Limit, Measure, Policy
from azotte_metering.domain.pricing import PriceModel, PricingModel, UsagePrice
from azotte_metering.domain.wallets import GrantSource
from azotte_metering.service_layer import limits, prices, wallets
from tests.unit.metering.billing_fakes import MARCH, TENANT, Billing

D = Decimal
APRIL = Period(MARCH.end, datetime(2026, 5, 1, tzinfo=UTC))


def units_limit(value: int = 1000, policy: Policy = Policy.SUSPEND) -> Limit:
    return Limit("lim_tokens", "cus_1", "ai.chat", Measure.UNITS, D(value), policy, "tokens", "", (50, 80, 100))


async def set_limit(billing: Billing, limit: Limit) -> None:
    await billing.run(lambda uow: limits.set_limit(uow, TENANT, limit))


def crossed(billing: Billing) -> list[int]:
    return [event.payload.percent for event in billing.published("threshold.crossed")]  # type: ignore[attr-defined]


async def renew(billing: Billing) -> None:
    account = UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", APRIL)
    billing.clock.set(APRIL.start + timedelta(minutes=1))
    await billing.follow(account)


async def test_each_threshold_is_announced_once_per_period() -> None:
    billing = Billing()
    await set_limit(billing, units_limit(policy=Policy.ALLOW_OVERAGE))
    await billing.usage("600")
    await billing.usage("250")
    await billing.usage("100")
    await billing.usage("500")
    assert crossed(billing) == [50, 80, 100]
    assert billing.published("limit.reached") == []  # overage allowed
    await renew(billing)
    await billing.usage("700")
    assert crossed(billing) == [50, 80, 100, 50]


async def test_a_hard_limit_cuts_off_once_and_the_next_period_releases_it() -> None:
    billing = Billing()
    await set_limit(billing, units_limit())
    await billing.usage("999")
    assert billing.published("limit.reached") == []
    await billing.usage("1")
    await billing.usage("40")
    (reached,) = billing.published("limit.reached")
    payload = reached.payload
    assert isinstance(payload, events_pb2.LimitChanged)
    assert (payload.denial, payload.limit.feature_key, reached.about) == ("QUOTA_EXHAUSTED", "ai.chat", "cus_1")
    await renew(billing)
    assert len(billing.published("limit.released")) == 1


async def test_a_spend_cap_counts_rated_money() -> None:
    billing = Billing()
    price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", PriceModel(PricingModel.PER_UNIT, unit_price=D("0.5")))
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))
    cap = Limit("cap", "cus_1", "ai.chat", Measure.SPEND, D(1000), Policy.SUSPEND, "", "USD", (80,))
    await set_limit(billing, cap)
    await billing.usage("1700")  # 850 cents
    assert crossed(billing) == [80] and billing.published("limit.reached") == []
    await billing.usage("300")  # 1000 cents
    (reached,) = billing.published("limit.reached")
    assert reached.payload.denial == "SPEND_LIMIT_REACHED"  # type: ignore[attr-defined]


async def test_an_empty_wallet_cuts_off_and_a_top_up_restores() -> None:
    billing = Billing()
    price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", PriceModel(PricingModel.PER_UNIT, unit_price=D(1)))
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))
    await billing.run(lambda uow: wallets.grant_credit(uow, TENANT, "cus_1", "USD", 500, GrantSource.PROMOTION))
    floor = Limit("credit", "cus_1", "ai.chat", Measure.CREDIT, D(0), Policy.SUSPEND, "", "USD")
    await set_limit(billing, floor)
    await billing.usage("499")
    assert billing.published("limit.reached") == []
    await billing.usage("5")
    assert len(billing.published("limit.reached")) == 1
    await billing.run(lambda uow: wallets.grant_credit(uow, TENANT, "cus_1", "USD", 1000, GrantSource.ADMIN))
    assert len(billing.published("limit.released")) == 1
    _, state = await billing.run(lambda uow: limits.get_limit(uow, TENANT, "credit"))
    assert not state.cut_off


async def test_raising_or_removing_a_limit_releases_the_feature() -> None:
    billing = Billing()
    await set_limit(billing, units_limit(100))
    await billing.usage("150")
    assert len(billing.published("limit.reached")) == 1
    await set_limit(billing, units_limit(200))
    assert len(billing.published("limit.released")) == 1
    await set_limit(billing, units_limit(100))
    assert len(billing.published("limit.reached")) == 2
    await billing.run(lambda uow: limits.delete_limit(uow, TENANT, "lim_tokens"))
    assert len(billing.published("limit.released")) == 2
