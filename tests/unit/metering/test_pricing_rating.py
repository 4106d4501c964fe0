"""Rating usage as it arrives: a period is priced as a whole (tiers span batches), per dimension, with
included units; late usage of a closed period becomes an adjustment on the next charge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import pytest

from azotte.metering.v1.events_pb2 import LimitChanged
from azotte_metering.domain.charges import Period, UsageAccount
from azotte_metering.domain.limits import Limit, Measure, Policy
from azotte_metering.domain.pricing import Percentage, PriceModel, PricingModel, Tier, UsagePrice
from azotte_metering.domain.wallets import GrantSource
from azotte_metering.service_layer import limits, prices, rating, wallets
from tests.unit.metering.billing_fakes import MARCH, TENANT, Billing, FakeUsage

D = Decimal
# Stripe's Typographic tiers in cents: 1-5 at 700, 6-10 at 650, 11+ at 600.
GRADUATED = PriceModel(PricingModel.GRADUATED, tiers=(Tier(D(5), D(700)), Tier(D(10), D(650)), Tier(None, D(600))))
APRIL = Period(MARCH.end, datetime(2026, 5, 1, tzinfo=UTC))


async def priced(billing: Billing, price: PriceModel, **dimensions: str) -> None:
    usage_price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", price, dimensions)
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, usage_price))


async def test_graduated_tiers_apply_to_the_period_not_to_each_batch() -> None:
    billing = Billing()
    await priced(billing, GRADUATED)
    for _ in range(3):
        await billing.usage("2")
    charges = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    (line,) = charges.lines
    assert (line.quantity, line.amount_minor) == (D(6), 4150)  # 5 x 7 USD + 1 x 6.50 USD, not 3 x 14 USD
    assert (charges.subtotal_minor, charges.credited_minor, charges.due_minor) == (4150, 0, 4150)
    assert charges.period == MARCH


async def test_each_dimension_has_its_own_line_and_the_most_specific_price() -> None:
    billing = Billing()
    await priced(billing, PriceModel(PricingModel.PER_UNIT, unit_price=D("0.01")))
    await priced(billing, PriceModel(PricingModel.PER_UNIT, unit_price=D("0.05")), model="large")
    await billing.usage("1000", model="small")
    await billing.usage("1000", model="large")
    await billing.usage("500", model="large")
    charges = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    assert [(dict(line.dimensions), line.quantity, line.amount_minor) for line in charges.lines] == [
        ({"model": "large"}, D(1500), 75),
        ({"model": "small"}, D(1000), 10),
    ]


async def test_included_units_are_free_and_the_overage_is_priced() -> None:
    billing = Billing()
    await priced(billing, PriceModel(PricingModel.PER_UNIT, unit_price=D(2), included_units=D(100)))
    await billing.usage("80")
    await billing.usage("50")
    (line,) = (await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))).lines
    assert (line.included_units, line.billable_units, line.amount_minor) == (D(100), D(30), 60)


async def renewed_after_five_in_march() -> tuple[Billing, UsageAccount]:
    """cus_1, graduated tokens: 5 in March (35 USD), then renewed into April, a day into it."""
    billing = Billing()
    await priced(billing, GRADUATED)
    await billing.usage("5", at=MARCH.start + timedelta(days=3))
    renewed = UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", APRIL)
    await billing.follow(renewed)
    billing.clock.set(APRIL.start + timedelta(days=1))
    return billing, renewed


async def test_late_usage_of_a_closed_period_is_an_adjustment_on_the_next() -> None:
    billing, renewed = await renewed_after_five_in_march()
    await billing.usage("1", at=APRIL.start + timedelta(hours=2))
    await billing.usage("2", event_id="late", at=MARCH.start + timedelta(days=20))
    april = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    assert april.period == APRIL
    assert [(line.quantity, line.amount_minor) for line in april.lines] == [(D(1), 700)]
    (adjustment,) = april.adjustments
    # NOTE: March goes from 5 fonts (35 USD) to 7 (48 USD): the sixth and seventh are in the 6.50 tier.
    assert (adjustment.quantity, adjustment.amount_minor) == (D(2), 1300)
    assert april.subtotal_minor == 2000
    march = await billing.run(lambda uow: rating.charges_for(uow, TENANT, "cus_1", renewed, MARCH))
    assert [line.quantity for line in march.lines] == [D(7)]


async def test_a_spend_limit_counts_the_adjustment_late_usage_of_a_closed_period_adds_to_this_one() -> None:
    billing, _ = await renewed_after_five_in_march()
    spend = Limit("spend", "cus_1", "ai.chat", Measure.SPEND, D(2500), Policy.SUSPEND, currency_code="USD")
    units = Limit("units", "cus_1", "ai.chat", Measure.UNITS, D(1000), Policy.SUSPEND, meter_key="tokens")
    for limit in (spend, units):
        await billing.run(partial(limits.set_limit, tenant_id=TENANT, limit=limit))
    await billing.usage("2", at=APRIL.start + timedelta(hours=2))  # 14 USD in April
    assert not billing.published("limit.reached")
    await billing.usage("2", event_id="late", at=MARCH.start + timedelta(days=20))  # 13 USD more, on April's charge
    (reached,) = billing.published("limit.reached")
    assert isinstance(reached.payload, LimitChanged)
    assert reached.payload.limit.limit_id == "spend"  # 27 USD of 25; 2 tokens of 1,000 this April


async def test_rated_usage_burns_the_wallet_as_it_arrives() -> None:
    billing = Billing()
    await priced(billing, PriceModel(PricingModel.PER_UNIT, unit_price=D(10)))
    await billing.run(lambda uow: wallets.grant_credit(uow, TENANT, "cus_1", "USD", 500, GrantSource.ADMIN))
    await billing.usage("30")
    wallet = await billing.run(lambda uow: wallets.get_wallet(uow, TENANT, "cus_1", "USD"))
    assert wallet.balance(billing.clock.now()) == 200
    await billing.usage("30")
    charges = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    assert (charges.subtotal_minor, charges.credited_minor, charges.due_minor) == (600, 500, 100)


async def test_usage_without_a_price_is_counted_but_not_charged() -> None:
    billing = Billing()
    await billing.usage("42")
    charges = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    assert charges.lines == () and charges.due_minor == 0
    totals = await billing.run(lambda uow: uow.usage.totals(TENANT, "cus_1", MARCH))
    assert [t.quantity for t in totals] == [D(42)]


async def test_a_percentage_price_bounds_each_transaction_of_a_batch() -> None:
    """Upvest's example (https://docs.upvest.co/products/byol/guides/fees/fees_transaction_fees_designing): 1% per
    order, at least 1 EUR, at most 100 EUR; orders of 50, 500 and 20,000 EUR in one batch pay 1 + 5 + 100 EUR."""
    billing = Billing()
    bounded = Percentage(D(1), min_per_transaction=D(100), max_per_transaction=D(10_000))
    await priced(billing, PriceModel(PricingModel.PERCENTAGE, percentage=bounded))
    await billing.batch(["5000", "50000", "2000000"])
    await billing.batch(["5000"])
    (line,) = (await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))).lines
    assert (line.quantity, line.amount_minor) == (D(2_060_000), 10_600 + 100)


async def test_a_snapshot_of_the_account_already_followed_writes_and_locks_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    billing = Billing()
    followed = await billing.run(lambda uow: uow.usage.account(TENANT, "cus_1"))
    assert followed is not None
    touched: list[str] = []
    for name in ("lock_periods", "put_account", "close_period"):

        async def refused(*args: object, name: str = name) -> None:
            touched.append(name)

        monkeypatch.setattr(FakeUsage, name, refused)
    await billing.follow(followed)
    assert touched == []
    renewed = UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", APRIL)
    await billing.follow(renewed)
    assert touched == ["lock_periods", "put_account", "close_period"]
