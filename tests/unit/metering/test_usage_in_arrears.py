"""Usage charged in arrears with the renewal: a period is billed once, frozen, and later usage of it goes to the
next bill as an adjustment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from azotte_metering.domain.charges import Period, PeriodToClose, UsageBill
from azotte_metering.domain.pricing import PriceModel, PricingModel, Tier, UsagePrice
from azotte_metering.domain.wallets import GrantSource
from azotte_metering.service_layer import closing, prices, rating, wallets
from azotte_platform.errors import InvalidArgument
from tests.unit.metering.billing_fakes import MARCH, TENANT, Billing

D = Decimal
APRIL = Period(MARCH.end, datetime(2026, 5, 1, tzinfo=UTC))
MAY = Period(APRIL.end, datetime(2026, 6, 1, tzinfo=UTC))
# 1-5 units at 7 USD, 6-10 at 6.50 USD, beyond at 6 USD.
GRADUATED = PriceModel(PricingModel.GRADUATED, tiers=(Tier(D(5), D(700)), Tier(D(10), D(650)), Tier(None, D(600))))


async def priced(billing: Billing) -> None:
    price = UsagePrice("sf_us", "plan_ai", "tokens", "USD", GRADUATED, {})
    await billing.run(lambda uow: prices.set_usage_price(uow, TENANT, price))


async def close(billing: Billing, period: Period, following: Period, subscription_id: str = "sub_1") -> UsageBill:
    request = PeriodToClose(subscription_id, "cus_1", period, following)
    (bill,) = await billing.run(lambda uow: closing.close_usage_periods(uow, billing.resets, TENANT, [request]))
    return bill


async def test_the_renewal_bills_the_period_once_and_a_retry_gets_the_same_bill() -> None:
    billing = Billing()
    await priced(billing)
    await billing.usage("6", at=MARCH.start + timedelta(days=2))
    billing.clock.set(MARCH.end)
    first = await close(billing, MARCH, APRIL)
    assert [(line.quantity, line.amount_minor) for line in first.charges.lines] == [(D(6), 4150)]
    assert (first.charges.period, first.charges.due_minor) == (MARCH, 4150)
    await billing.usage("1", at=MARCH.end + timedelta(hours=1))
    again = await close(billing, MARCH, APRIL)
    assert again == first


async def test_usage_arriving_after_the_bill_is_an_adjustment_of_the_next_one() -> None:
    billing = Billing()
    await priced(billing)
    await billing.usage("5", at=MARCH.start + timedelta(days=3))
    billing.clock.set(MARCH.end)
    march = await close(billing, MARCH, APRIL)
    assert march.charges.due_minor == 3500
    await billing.usage("1", at=APRIL.start + timedelta(days=1))
    await billing.usage("2", event_id="late", at=MARCH.start + timedelta(days=20))
    billing.clock.set(APRIL.end)
    april = await close(billing, APRIL, MAY)
    assert [(line.quantity, line.amount_minor) for line in april.charges.lines] == [(D(1), 700)]
    (adjustment,) = april.charges.adjustments
    # NOTE: March re-rated from 5 units (35 USD) to 7 (48 USD): the late two are in the 6.50 tier.
    assert (adjustment.quantity, adjustment.amount_minor) == (D(2), 1300)
    assert april.charges.due_minor == 2000
    assert await close(billing, MARCH, APRIL) == march


async def test_credit_paid_from_the_wallet_is_not_billed_again() -> None:
    billing = Billing()
    await priced(billing)
    await billing.run(lambda uow: wallets.grant_credit(uow, TENANT, "cus_1", "USD", 1000, GrantSource.ADMIN))
    await billing.usage("2", at=MARCH.start + timedelta(days=1))
    billing.clock.set(MARCH.end)
    bill = await close(billing, MARCH, APRIL)
    assert (bill.charges.subtotal_minor, bill.charges.credited_minor, bill.charges.due_minor) == (1400, 1000, 400)


async def test_after_the_bill_usage_counts_in_the_next_period_and_the_preview_shows_it() -> None:
    billing = Billing()
    await priced(billing)
    billing.clock.set(MARCH.end)
    await close(billing, MARCH, APRIL)
    await billing.usage("3", at=APRIL.start + timedelta(minutes=5))
    preview = await billing.run(lambda uow: rating.preview_charges(uow, TENANT, "cus_1"))
    assert preview.period == APRIL
    assert [line.quantity for line in preview.lines] == [D(3)]


async def test_another_subscription_of_the_customer_bills_no_usage() -> None:
    billing = Billing()
    await priced(billing)
    await billing.usage("4", at=MARCH.start + timedelta(days=1))
    billing.clock.set(MARCH.end)
    other = await close(billing, MARCH, APRIL, subscription_id="sub_other")
    assert (other.charges.lines, other.charges.due_minor) == ((), 0)
    mine = await close(billing, MARCH, APRIL)
    assert mine.charges.due_minor == 2800


async def test_a_period_that_does_not_end_where_the_next_starts_is_refused_naming_the_field() -> None:
    billing = Billing()
    backwards = PeriodToClose("sub_1", "cus_1", Period(MARCH.end, MARCH.start), APRIL)
    with pytest.raises(InvalidArgument) as refused:
        await billing.run(lambda uow: closing.close_usage_periods(uow, billing.resets, TENANT, [backwards]))
    assert refused.value.violations[0].field == "periods[0].period_end_time"
    nameless = PeriodToClose("sub_1", "", MARCH, APRIL)
    with pytest.raises(InvalidArgument) as refused:
        await billing.run(lambda uow: closing.close_usage_periods(uow, billing.resets, TENANT, [nameless]))
    assert refused.value.violations[0].field == "periods[0].customer_id"
