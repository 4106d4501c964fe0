"""Rating: usage priced as it arrives (wallets burned, limits checked), and the charges of a period.

`rate_usage` handles each `usage.recorded` event once (the consumer's inbox): the customer's period
quantity of the meter and dimension values grows, is re-rated as a whole under the plan's price (so tiers
apply to the period, not to the batch), and the difference is what the wallet pays now. Usage from before
the current period (already billed) re-rates its own period and the difference becomes an adjustment line
on the current one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from azotte_metering.billing_ports import BillingUnitOfWork, QuotaResets
from azotte_metering.domain.charges import (
    Adjustment,
    Period,
    UsageAccount,
    UsageCharges,
    UsageTotal,
    accumulate,
    charges_of,
    dimensions_key,
    line_for,
    period_for,
)
from azotte_metering.domain.pricing import PricingModel, UsagePrice, matching, to_minor
from azotte_metering.service_layer.limits import evaluate_limits
from azotte_metering.service_layer.quotas import report_quota_use
from azotte_metering.service_layer.wallets import burn_usage
from azotte_platform.errors import InvalidArgument


@dataclass(frozen=True, slots=True)
class RecordedUsage:
    """What one committed batch added to one (customer, meter, dimension values): `usage.recorded`."""

    event_id: str
    customer_id: str
    meter_key: str
    aggregation: str
    dimensions: Mapping[str, str]
    first_event_time: datetime
    last_event_time: datetime
    event_count: int
    quantity: Decimal


async def price_for(
    uow: BillingUnitOfWork, tenant_id: str, account: UsageAccount | None, meter_key: str, dimensions: Mapping[str, str]
) -> UsagePrice | None:
    """The price of this usage under the customer's plan and storefront, if any."""
    if account is None:
        return None
    return matching(await uow.prices.of_plan(tenant_id, account.storefront_id, account.plan_id, meter_key), dimensions)


async def lock_current_period(
    uow: BillingUnitOfWork, tenant_id: str, customer_id: str, at: datetime
) -> tuple[UsageAccount | None, Period, bool]:
    """The customer's usage account and the period usage at `at` is counted in (whether it is late), with the
    row of the customer's current period locked until the unit of work ends.

    NOTE: closing a period moves the account on while it holds that period's lock, so the account is read
    again once the lock is taken.
    """
    account = await uow.usage.account(tenant_id, customer_id)
    while True:
        current, late = period_for(account, at)
        await uow.usage.lock_period(tenant_id, customer_id, current)
        locked = await uow.usage.account(tenant_id, customer_id)
        if locked == account:
            return account, current, late
        account = locked


async def rate_usage(uow: BillingUnitOfWork, resets: QuotaResets, tenant_id: str, usage: RecordedUsage) -> bool:
    """Count, rate and pay one batch's usage of one customer, then check their limits; whether paying it
    started an auto-recharge."""
    customer = usage.customer_id
    account, current, late = await lock_current_period(uow, tenant_id, customer, usage.first_event_time)
    price = await price_for(uow, tenant_id, account, usage.meter_key, usage.dimensions)
    counted_in = await uow.usage.period_containing(tenant_id, customer, usage.first_event_time) if late else current
    delta = await _count(uow, tenant_id, usage, counted_in, price)
    currency = price.currency_code if price is not None else ""
    if late and price is not None and delta:
        adjustment = Adjustment(
            f"{usage.event_id}:{usage.meter_key}:{dimensions_key(usage.dimensions)}",
            usage.first_event_time,
            usage.meter_key,
            usage.dimensions,
            usage.quantity,
            currency,
            delta,
        )
        await uow.usage.add_adjustment(tenant_id, customer, current, adjustment)
    recharging = False
    if delta > 0:
        credited, recharging = await burn_usage(uow, tenant_id, customer, currency, delta, usage.event_id)
        if credited:
            await uow.usage.add_credited(tenant_id, customer, current, credited)
    now = uow.clock.now()
    await report_quota_use(uow, resets, tenant_id, customer, now, meter_key=usage.meter_key)
    await evaluate_limits(uow, tenant_id, customer, now)
    return recharging


async def _count(
    uow: BillingUnitOfWork, tenant_id: str, usage: RecordedUsage, period: Period | None, price: UsagePrice | None
) -> int:
    """Add the batch to the period's total and re-rate it; the change of its amount (minor units).

    NOTE: late usage from before any period recorded for the customer is rated on its own.
    """
    key = dimensions_key(usage.dimensions)
    old = await uow.usage.total(tenant_id, usage.customer_id, period, usage.meter_key, key) if period else None
    quantity = accumulate(usage.aggregation, old.quantity if old is not None else None, usage.quantity)
    currency = price.currency_code if price is not None else ""
    rated = await _rated(uow, tenant_id, usage, period, price, quantity)
    was = old.rated_minor if old is not None and old.currency_code == currency else 0
    if period is not None:
        latest = usage.last_event_time if old is None else max(old.latest_time, usage.last_event_time)
        count = usage.event_count + (old.event_count if old is not None else 0)
        total = UsageTotal(usage.meter_key, usage.dimensions, quantity, count, latest, currency, rated)
        await uow.usage.put_total(tenant_id, usage.customer_id, period, total)
    return rated - was


async def _rated(
    uow: BillingUnitOfWork,
    tenant_id: str,
    usage: RecordedUsage,
    period: Period | None,
    price: UsagePrice | None,
    quantity: Decimal,
) -> int:
    """What the period's quantity costs (minor units).

    NOTE: a percentage price bounds each transaction, which a batch's total does not show: it is rated from
    the period's raw events of the same dimension values (so a redelivered or late batch rates the same).
    """
    if price is None:
        return 0
    if price.price.model is not PricingModel.PERCENTAGE or period is None:
        return to_minor(price.price.amount(quantity))
    current = await uow.usage.account(tenant_id, usage.customer_id)
    open_ended = current is None or current.period.start == period.start
    found = await uow.usage.transactions(
        tenant_id, usage.customer_id, usage.meter_key, period.start, None if open_ended else period.end
    )
    amounts = [amount for dimensions, amount in found if dict(dimensions) == dict(usage.dimensions)]
    return to_minor(price.price.amount_of_transactions(amounts))


async def preview_charges(uow: BillingUnitOfWork, tenant_id: str, customer_id: str) -> UsageCharges:
    """The usage charges of the customer's current period so far, with the adjustments it carries."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    account = await uow.usage.account(tenant_id, customer_id)
    period, _ = period_for(account, uow.clock.now())
    return await charges_for(uow, tenant_id, customer_id, account, period)


async def charges_for(
    uow: BillingUnitOfWork, tenant_id: str, customer_id: str, account: UsageAccount | None, period: Period
) -> UsageCharges:
    """A period's charges: each total under the price that applies to it now."""
    totals = await uow.usage.totals(tenant_id, customer_id, period)
    adjustments = await uow.usage.adjustments(tenant_id, customer_id, period)
    credited = await uow.usage.credited(tenant_id, customer_id, period)
    lines = []
    for total in totals:
        price = await price_for(uow, tenant_id, account, total.meter_key, total.dimensions)
        if price is not None:
            lines.append(line_for(total, price.price, price.currency_code))
    currency = account.currency_code if account is not None else ""
    currencies = {line.currency_code for line in lines} | {a.currency_code for a in adjustments}
    if currency not in currencies and currencies:
        currency = sorted(currencies)[0]
    subscription_id = account.subscription_id if account is not None else ""
    return charges_of(customer_id, period, currency, lines, adjustments, credited, subscription_id)
