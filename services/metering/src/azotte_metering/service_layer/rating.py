"""Rating: usage priced as it arrives (wallets burned, limits checked), and the charges of a period.

`rate_usage` handles each `usage.recorded` event once (the consumer's inbox; a backlog's events a customer at a
time): the customer's period quantity of the meter and dimension values grows, is re-rated as a whole under the
plan's price (so tiers apply to the period, not to the batch), and the difference is what the wallet pays now.
Usage from before the current period (already billed) re-rates its own period and the difference becomes an
adjustment line on the current one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from azotte_metering.billing_ports import BillingUnitOfWork, QuotaResets, WalletChange
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
from azotte_metering.domain.limits import Limit, LimitState, Measure
from azotte_metering.domain.meters import Meter
from azotte_metering.domain.pricing import PricingModel, UsagePrice, matching, to_minor
from azotte_metering.domain.wallets import Wallet
from azotte_metering.service_layer.limits import KnownUsage, evaluate_limits
from azotte_metering.service_layer.periods import lock_periods_at
from azotte_metering.service_layer.quotas import report_quota_use
from azotte_metering.service_layer.wallets import UsagePaid, burn_usage
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


class TenantRatingReads:
    """What rating reads of a tenant, once per unit of work (a backlog rated together, a period's charges): the
    usage prices of each plan, and the meters with quota features."""

    def __init__(self, uow: BillingUnitOfWork, tenant_id: str):
        self._uow = uow
        self._tenant_id = tenant_id
        self._read: dict[tuple[str, str, str], list[UsagePrice]] = {}
        self._quota_meters: list[Meter] | None = None

    async def price_for(
        self, account: UsageAccount | None, meter_key: str, dimensions: Mapping[str, str]
    ) -> UsagePrice | None:
        """The price of this usage under the customer's plan and storefront, if any."""
        if account is None:
            return None
        key = (account.storefront_id, account.plan_id, meter_key)
        if key not in self._read:
            self._read[key] = await self._uow.prices.of_plan(self._tenant_id, *key)
        return matching(self._read[key], dimensions)

    async def quota_meters(self) -> list[Meter]:
        """The tenant's meters with quota features."""
        if self._quota_meters is None:
            self._quota_meters = await self._uow.usage.quota_meters(self._tenant_id)
        return self._quota_meters


class PeriodTotals:
    """The period totals of the customers rated in one unit of work, each period's read once (the current ones
    read for all of them at once) and all written in one statement: the usage rated together counts on from the
    totals the usage before it left."""

    def __init__(self, uow: BillingUnitOfWork, tenant_id: str, current: Mapping[str, Period], read: CustomerReads):
        self._uow = uow
        self._tenant_id = tenant_id
        self._read: dict[tuple[str, Period], dict[tuple[str, str], UsageTotal]] = {
            (customer, period): {(t.meter_key, dimensions_key(t.dimensions)): t for t in read.totals.get(customer, [])}
            for customer, period in current.items()
        }
        self._changed: set[tuple[str, Period, str, str]] = set()

    async def get(self, customer_id: str, period: Period, meter_key: str, key: str) -> UsageTotal | None:
        if (customer_id, period) not in self._read:
            totals = await self._uow.usage.totals(self._tenant_id, customer_id, period)
            self._read[customer_id, period] = {(t.meter_key, dimensions_key(t.dimensions)): t for t in totals}
        return self._read[customer_id, period].get((meter_key, key))

    def known(self, customer_id: str, period: Period) -> list[UsageTotal]:
        """Every total of the customer's `period` as it stands, by meter then dimension values (read: current)."""
        return [total for _, total in sorted(self._read[customer_id, period].items())]

    def put(self, customer_id: str, period: Period, total: UsageTotal, key: str) -> None:
        self._read[customer_id, period][(total.meter_key, key)] = total
        self._changed.add((customer_id, period, total.meter_key, key))

    async def write(self) -> None:
        """Store every total changed, in one statement."""
        changed = sorted(self._changed, key=lambda c: (c[0], c[1].start, c[2], c[3]))
        rows = [
            (customer, period, self._read[customer, period][meter_key, key])
            for customer, period, meter_key, key in changed
        ]
        await self._uow.usage.put_totals(self._tenant_id, rows)
        self._changed.clear()


@dataclass(frozen=True, slots=True)
class CustomerReads:
    """What rating reads of the customers rated in one unit of work, once for all of them after their periods are
    locked: their current periods' totals, their wallets by currency, their limits, and the current periods'
    adjustments of those with a spend limit."""

    totals: dict[str, list[UsageTotal]]
    wallets: dict[str, dict[str, Wallet]]
    limits: dict[str, list[tuple[Limit, LimitState]]]
    adjustments: dict[str, list[Adjustment]]

    @classmethod
    async def read(cls, uow: BillingUnitOfWork, tenant_id: str, current: Mapping[str, Period]) -> CustomerReads:
        customers = list(current)
        limits = await uow.limits.of_customers(tenant_id, customers)
        spending = {
            customer: current[customer]
            for customer, pairs in limits.items()
            if any(limit.measure is Measure.SPEND for limit, _ in pairs)
        }
        wallets = await uow.wallets.of_customers(tenant_id, customers)
        adjustments = await uow.usage.adjustments_of(tenant_id, spending) if spending else {}
        return cls(
            await uow.usage.totals_of(tenant_id, current),
            {customer: {wallet.currency_code: wallet for wallet in found} for customer, found in wallets.items()},
            limits,
            {customer: adjustments.get(customer, []) for customer in spending},
        )

    def added(self, customer_id: str, adjustment: Adjustment) -> None:
        """Count an adjustment just recorded (an id recorded already is not recorded again)."""
        known = self.adjustments.get(customer_id)
        if known is not None and all(a.adjustment_id != adjustment.adjustment_id for a in known):
            known.append(adjustment)

    def usage(self, customer_id: str, account: UsageAccount | None, period: Period, totals: PeriodTotals) -> KnownUsage:
        """What evaluating the customer's limits needs, as it stands after rating."""
        return KnownUsage(
            self.limits.get(customer_id, []),
            account,
            period,
            totals.known(customer_id, period),
            self.adjustments.get(customer_id, []),
            self.wallets.get(customer_id, {}),
        )


async def rate_usage(
    uow: BillingUnitOfWork, resets: QuotaResets, tenant_id: str, usages: Sequence[RecordedUsage]
) -> bool:
    """Count, rate and pay the usage of one or more `usage.recorded` events (in stream order), then report each
    customer's quotas and check their limits once; whether paying it started an auto-recharge.

    NOTE: the events of a backlog rated together are rated a customer at a time, each usage counted and rated as if
    it came alone, so the totals, the adjustments and the amounts paid are those of rating them one by one; but the
    customers' periods are locked, what rating reads of them is read, and what it changes is written, in one
    statement each for all of them.
    """
    grouped = by_customer(usages)
    times = {customer: [usage.first_event_time for usage in own] for customer, own in grouped.items()}
    locked = await lock_periods_at(uow, tenant_id, times)
    current = {customer: period for customer, (_, period) in locked.items()}
    read = await CustomerReads.read(uow, tenant_id, current)
    rating = _Rating(
        uow, tenant_id, TenantRatingReads(uow, tenant_id), read, PeriodTotals(uow, tenant_id, current, read)
    )
    recharging = False
    for customer_id, own in grouped.items():
        recharging = await rating.customer(customer_id, own, *locked[customer_id]) or recharging
    await rating.totals.write()
    await rating.payments.save(uow, tenant_id)
    now = uow.clock.now()
    quota_meters = await rating.reads.quota_meters()
    for customer_id, own in grouped.items():
        account, period = locked[customer_id]
        meter_keys = {usage.meter_key for usage in own}
        await report_quota_use(
            uow, resets, tenant_id, customer_id, now, meter_keys=meter_keys, quota_meters=quota_meters
        )
        known = read.usage(customer_id, account, period, rating.totals)
        await evaluate_limits(uow, tenant_id, customer_id, now, known=known)
    return recharging


class WalletPayments:
    """The wallet changes and the credit paid of the customers rated in one unit of work, saved together."""

    def __init__(self) -> None:
        self._changes: list[WalletChange] = []
        self._credited: dict[tuple[str, Period], int] = {}

    def paid(self, customer_id: str, period: Period, paid: UsagePaid) -> None:
        self._changes.append(paid.change)
        if paid.covered_minor:
            key = (customer_id, period)
            self._credited[key] = self._credited.get(key, 0) + paid.covered_minor

    async def save(self, uow: BillingUnitOfWork, tenant_id: str) -> None:
        """Save every wallet changed and add the credit paid to each period (a statement each for all)."""
        await uow.wallets.save(tenant_id, self._changes, uow.clock.now())
        await uow.usage.add_credited(tenant_id, [(c, p, amount) for (c, p), amount in self._credited.items()])


@dataclass
class _Rating:
    """The rating of one unit of work: what it read of the tenant and the customers, and what it writes."""

    uow: BillingUnitOfWork
    tenant_id: str
    reads: TenantRatingReads
    read: CustomerReads
    totals: PeriodTotals
    payments: WalletPayments = field(default_factory=WalletPayments)

    async def customer(
        self, customer_id: str, usages: Sequence[RecordedUsage], account: UsageAccount | None, current: Period
    ) -> bool:
        """Count and rate one customer's usage and pay it from their wallets; whether that started an
        auto-recharge."""
        uow, tenant_id = self.uow, self.tenant_id
        owed: dict[str, int] = {}
        for usage in usages:
            period, late = period_for(account, usage.first_event_time)
            price = await self.reads.price_for(account, usage.meter_key, usage.dimensions)
            if late:
                counted_in = await uow.usage.period_containing(tenant_id, customer_id, usage.first_event_time)
            else:
                counted_in = period
            delta = await _count(uow, tenant_id, usage, counted_in, price, self.totals)
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
                await uow.usage.add_adjustment(tenant_id, customer_id, period, adjustment)
                self.read.added(customer_id, adjustment)
            if delta > 0:
                owed[currency] = owed.get(currency, 0) + delta
        recharging = False
        for currency, amount in sorted(owed.items()):
            wallet = self.read.wallets.get(customer_id, {}).get(currency)
            if wallet is not None:
                paid = await burn_usage(uow, tenant_id, wallet, amount, usages[0].event_id)
                self.payments.paid(customer_id, current, paid)
                recharging = recharging or paid.recharging
        return recharging


def by_customer(usages: Iterable[RecordedUsage]) -> dict[str, list[RecordedUsage]]:
    """Usage grouped by customer, the customers in order (so transactions lock them in one order), each
    customer's usage in the order given."""
    grouped: dict[str, list[RecordedUsage]] = {}
    for usage in usages:
        grouped.setdefault(usage.customer_id, []).append(usage)
    return {customer: grouped[customer] for customer in sorted(grouped)}


async def _count(
    uow: BillingUnitOfWork,
    tenant_id: str,
    usage: RecordedUsage,
    period: Period | None,
    price: UsagePrice | None,
    totals: PeriodTotals,
) -> int:
    """Add the batch to the period's total and re-rate it; the change of its amount (minor units).

    NOTE: late usage from before any period recorded for the customer is rated on its own.
    """
    key = dimensions_key(usage.dimensions)
    old = await totals.get(usage.customer_id, period, usage.meter_key, key) if period else None
    quantity = accumulate(usage.aggregation, old, usage.quantity, usage.event_count, usage.last_event_time)
    currency = price.currency_code if price is not None else ""
    rated = await _rated(uow, tenant_id, usage, period, price, quantity)
    was = old.rated_minor if old is not None and old.currency_code == currency else 0
    if period is not None:
        latest = usage.last_event_time if old is None else max(old.latest_time, usage.last_event_time)
        count = usage.event_count + (old.event_count if old is not None else 0)
        totals.put(
            usage.customer_id,
            period,
            UsageTotal(usage.meter_key, usage.dimensions, quantity, count, latest, currency, rated),
            key,
        )
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
    reads = TenantRatingReads(uow, tenant_id)
    for total in totals:
        price = await reads.price_for(account, total.meter_key, total.dimensions)
        if price is not None:
            lines.append(line_for(total, price.price, price.currency_code))
    currency = account.currency_code if account is not None else ""
    currencies = {line.currency_code for line in lines} | {a.currency_code for a in adjustments}
    if currency not in currencies and currencies:
        currency = sorted(currencies)[0]
    subscription_id = account.subscription_id if account is not None else ""
    return charges_of(customer_id, period, currency, lines, adjustments, credited, subscription_id)
