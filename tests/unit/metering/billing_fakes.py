"""In-memory fakes of the usage-billing ports: prices, usage periods, wallets, limits and payments.

`FakeBillingUnitOfWork` works on a copy of what it committed at each `async with`: `commit()` keeps the copy
and leaving without it drops it, as a transaction would.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Self, TypeVar

from azotte_metering.adapters.billing_proto import to_event
from azotte_metering.billing_ports import (
    BillingUnitOfWork,
    ChargeAnswer,
    MovementEntry,
    Recharge,
    RechargeState,
    WalletChange,
)
from azotte_metering.domain.charges import Adjustment, Period, UsageAccount, UsageBill, UsageTotal, dimensions_key
from azotte_metering.domain.limits import Limit, LimitState
from azotte_metering.domain.meters import Meter
from azotte_metering.domain.pricing import UsagePrice
from azotte_metering.domain.quotas import QuotaReset
from azotte_metering.domain.usage import Bucket, Granularity, Rollup, Span
from azotte_metering.domain.wallets import Wallet
from azotte_metering.service_layer import accounts, rating
from azotte_metering.service_layer.accounts import SubscriptionSnapshot
from azotte_metering.service_layer.rating import RecordedUsage
from azotte_platform.clock import Clock, FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.errors import FailedPrecondition, Unavailable
from azotte_platform.events.envelope import Event
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

PriceKey = tuple[str, str, str, str, str, str]


@dataclass
class BillingData:
    """What the usage-billing tables hold, in memory."""

    meters: dict[tuple[str, str], str] = field(default_factory=dict)
    quota_meters: list[Meter] = field(default_factory=list)
    """The meters measuring quota features (any tenant)."""
    prices: dict[PriceKey, UsagePrice] = field(default_factory=dict)
    accounts: dict[tuple[str, str], UsageAccount] = field(default_factory=dict)
    periods: dict[tuple[str, str, datetime], tuple[Period, int, datetime | None]] = field(default_factory=dict)
    totals: dict[tuple[str, str, datetime, str, str], UsageTotal] = field(default_factory=dict)
    adjustments: dict[tuple[str, str], tuple[str, datetime, Adjustment]] = field(default_factory=dict)
    wallets: dict[tuple[str, str, str], Wallet] = field(default_factory=dict)
    movements: list[tuple[str, str, MovementEntry]] = field(default_factory=list)
    recharges: dict[tuple[str, str], Recharge] = field(default_factory=dict)
    limits: dict[tuple[str, str], tuple[Limit, LimitState]] = field(default_factory=dict)
    raw_events: list[tuple[str, str, str, datetime, dict[str, str], Decimal]] = field(default_factory=list)
    """(tenant, customer, meter, time, dimension values, amount) of the ingested events."""
    bills: dict[tuple[str, str, datetime], UsageBill] = field(default_factory=dict)


class FakePrices:
    def __init__(self, data: BillingData):
        self.data = data

    async def put(self, tenant_id: str, price: UsagePrice, now: datetime) -> None:
        self.data.prices[_price_key(tenant_id, price)] = price

    async def delete(
        self, tenant_id: str, storefront_id: str, plan_id: str, meter_key: str, dimensions: Mapping[str, str]
    ) -> bool:
        key = (tenant_id, storefront_id, plan_id, meter_key, dimensions_key(dimensions), "")
        return self.data.prices.pop(key, None) is not None

    async def of_plan(self, tenant_id: str, storefront_id: str, plan_id: str, meter_key: str = "") -> list[UsagePrice]:
        return [
            price
            for key, price in self.data.prices.items()
            if key[:3] == (tenant_id, storefront_id, plan_id) and (not meter_key or key[3] == meter_key)
        ]

    async def meter_aggregation(self, tenant_id: str, meter_key: str) -> str | None:
        return self.data.meters.get((tenant_id, meter_key))


def _price_key(tenant_id: str, price: UsagePrice) -> PriceKey:
    return (tenant_id, price.storefront_id, price.plan_id, price.meter_key, dimensions_key(price.dimensions), "")


class FakeUsage:
    def __init__(self, data: BillingData):
        self.data = data

    async def account(self, tenant_id: str, customer_id: str) -> UsageAccount | None:
        return self.data.accounts.get((tenant_id, customer_id))

    async def accounts(self, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, UsageAccount]:
        found = ((customer, self.data.accounts.get((tenant_id, customer))) for customer in customer_ids)
        return {customer: account for customer, account in found if account is not None}

    async def quota_meters(self, tenant_id: str) -> list[Meter]:
        return [meter for meter in self.data.quota_meters if meter.tenant_id == tenant_id]

    async def put_account(self, tenant_id: str, account: UsageAccount, now: datetime) -> None:
        self.data.accounts[(tenant_id, account.customer_id)] = account

    async def lock_periods(self, tenant_id: str, periods: Sequence[tuple[str, Period]]) -> None:
        for customer_id, period in periods:
            self.data.periods.setdefault((tenant_id, customer_id, period.start), (period, 0, None))

    async def credited(self, tenant_id: str, customer_id: str, period: Period) -> int:
        found = self.data.periods.get((tenant_id, customer_id, period.start))
        return found[1] if found is not None else 0

    async def add_credited(self, tenant_id: str, credits: Sequence[tuple[str, Period, int]]) -> None:
        for customer_id, period, amount_minor in credits:
            key = (tenant_id, customer_id, period.start)
            stored, credited, closed = self.data.periods[key]
            self.data.periods[key] = (stored, credited + amount_minor, closed)

    async def close_period(self, tenant_id: str, customer_id: str, period: Period, now: datetime) -> None:
        key = (tenant_id, customer_id, period.start)
        stored, credited, closed = self.data.periods[key]
        self.data.periods[key] = (stored, credited, closed or now)

    async def period_containing(self, tenant_id: str, customer_id: str, at: datetime) -> Period | None:
        starts = [
            stored
            for (tenant, customer, start), (stored, _, _) in self.data.periods.items()
            if (tenant, customer) == (tenant_id, customer_id) and start <= at
        ]
        return max(starts, key=lambda period: period.start, default=None)

    async def put_totals(self, tenant_id: str, totals: Sequence[tuple[str, Period, UsageTotal]]) -> None:
        for customer_id, period, total in totals:
            key = (tenant_id, customer_id, period.start, total.meter_key, dimensions_key(total.dimensions))
            self.data.totals[key] = total

    async def totals(self, tenant_id: str, customer_id: str, period: Period) -> list[UsageTotal]:
        return [t for k, t in sorted(self.data.totals.items()) if k[:3] == (tenant_id, customer_id, period.start)]

    async def totals_of(self, tenant_id: str, periods: Mapping[str, Period]) -> dict[str, list[UsageTotal]]:
        found = {customer: await self.totals(tenant_id, customer, period) for customer, period in periods.items()}
        return {customer: totals for customer, totals in found.items() if totals}

    async def transactions(
        self, tenant_id: str, customer_id: str, meter_key: str, since: datetime, until: datetime | None
    ) -> list[tuple[Mapping[str, str], Decimal]]:
        return [
            (dimensions, amount)
            for tenant, customer, meter, at, dimensions, amount in self.data.raw_events
            if (tenant, customer, meter) == (tenant_id, customer_id, meter_key)
            and since <= at
            and (until is None or at < until)
        ]

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        """A minute bucket per raw event in `spans` (the rollups add up to the same)."""
        return [
            Rollup(Granularity.MINUTE, Granularity.MINUTE.floor(at), dimensions, Bucket(1, amount))
            for tenant, customer, meter, at, dimensions, amount in self.data.raw_events
            if (tenant, customer, meter) == (tenant_id, customer_id, meter_key)
            and any(span.start <= at < span.end for span in spans)
        ]

    async def add_adjustment(self, tenant_id: str, customer_id: str, period: Period, adjustment: Adjustment) -> None:
        self.data.adjustments.setdefault((tenant_id, adjustment.adjustment_id), (customer_id, period.start, adjustment))

    async def adjustments(self, tenant_id: str, customer_id: str, period: Period) -> list[Adjustment]:
        return [
            adjustment
            for (tenant, _), (customer, start, adjustment) in self.data.adjustments.items()
            if (tenant, customer, start) == (tenant_id, customer_id, period.start)
        ]

    async def adjustments_of(self, tenant_id: str, periods: Mapping[str, Period]) -> dict[str, list[Adjustment]]:
        found = {customer: await self.adjustments(tenant_id, customer, period) for customer, period in periods.items()}
        return {customer: adjustments for customer, adjustments in found.items() if adjustments}

    async def bill(self, tenant_id: str, subscription_id: str, period_start: datetime) -> UsageBill | None:
        return self.data.bills.get((tenant_id, subscription_id, period_start))

    async def put_bill(self, tenant_id: str, period_start: datetime, bill: UsageBill) -> None:
        key = (tenant_id, bill.subscription_id, period_start)
        assert key not in self.data.bills, "a period is billed once"
        self.data.bills[key] = bill


class FakeWallets:
    def __init__(self, data: BillingData):
        self.data = data

    async def get(self, tenant_id: str, customer_id: str, currency_code: str) -> Wallet | None:
        wallet = self.data.wallets.get((tenant_id, customer_id, currency_code))
        return copy.deepcopy(wallet) if wallet is not None else None

    async def of_customers(self, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, list[Wallet]]:
        found: dict[str, list[Wallet]] = {}
        for (tenant, customer, _), wallet in sorted(self.data.wallets.items()):
            if tenant == tenant_id and customer in customer_ids:
                found.setdefault(customer, []).append(copy.deepcopy(wallet))
        return found

    async def save(self, tenant_id: str, changes: Sequence[WalletChange], now: datetime) -> None:
        for change in changes:
            wallet = change.wallet
            self.data.wallets[(tenant_id, wallet.customer_id, wallet.currency_code)] = copy.deepcopy(wallet)
            for movement in change.movements:
                seq = len(self.data.movements) + 1
                entry = MovementEntry(seq, wallet.currency_code, movement, change.balance_after_minor)
                self.data.movements.append((tenant_id, wallet.customer_id, entry))

    async def movements(
        self, tenant_id: str, customer_id: str, currency_code: str, limit: int, before_seq: int | None
    ) -> list[MovementEntry]:
        found = [
            entry
            for tenant, customer, entry in reversed(self.data.movements)
            if (tenant, customer, entry.currency_code) == (tenant_id, customer_id, currency_code)
            and (before_seq is None or entry.seq < before_seq)
        ]
        return found[:limit]

    async def add_recharge(self, recharge: Recharge, now: datetime) -> None:
        self.data.recharges.setdefault((recharge.tenant_id, recharge.recharge_id), recharge)

    async def lock_recharge(self, tenant_id: str, recharge_id: str) -> Recharge | None:
        return self.data.recharges.get((tenant_id, recharge_id))

    async def save_recharge(self, recharge: Recharge, now: datetime) -> None:
        self.data.recharges[(recharge.tenant_id, recharge.recharge_id)] = recharge

    async def pending_recharges(self, limit: int) -> list[Recharge]:
        return [r for r in self.data.recharges.values() if r.state is RechargeState.PENDING][:limit]


class FakeLimits:
    def __init__(self, data: BillingData):
        self.data = data

    async def put(self, tenant_id: str, limit: Limit, state: LimitState, now: datetime) -> None:
        self.data.limits[(tenant_id, limit.limit_id)] = (limit, state)

    async def get(self, tenant_id: str, limit_id: str) -> tuple[Limit, LimitState] | None:
        return self.data.limits.get((tenant_id, limit_id))

    async def delete(self, tenant_id: str, limit_id: str) -> None:
        self.data.limits.pop((tenant_id, limit_id), None)

    async def of_customers(
        self, tenant_id: str, customer_ids: Sequence[str]
    ) -> dict[str, list[tuple[Limit, LimitState]]]:
        found: dict[str, list[tuple[Limit, LimitState]]] = {}
        for (tenant, _), pair in sorted(self.data.limits.items()):
            if tenant == tenant_id and pair[0].customer_id in customer_ids:
                found.setdefault(pair[0].customer_id, []).append(pair)
        return found

    async def save_state(self, tenant_id: str, limit_id: str, state: LimitState, now: datetime) -> None:
        limit, _ = self.data.limits[(tenant_id, limit_id)]
        self.data.limits[(tenant_id, limit_id)] = (limit, state)


class FakeBillingUnitOfWork(FakeUnitOfWork):
    """`billing_ports.BillingUnitOfWork` over `BillingData`, with transaction semantics."""

    def __init__(self, clock: Clock, idempotency: InMemoryIdempotency | None = None):
        super().__init__(clock, idempotency, to_event)
        self.data = BillingData()
        self._work = self.data

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self._work = copy.deepcopy(self.data)
        self.prices = FakePrices(self._work)
        self.usage = FakeUsage(self._work)
        self.wallets = FakeWallets(self._work)
        self.limits = FakeLimits(self._work)
        return self

    async def commit(self) -> None:
        self.data = self._work
        await super().commit()


@dataclass
class FakePayments:
    """Charges answered once per idempotency key: `declines` fail, `pending` have not answered yet, `refusals` are
    refused before any charge (no payment method on file)."""

    charges: dict[str, tuple[ChargeAnswer, int, str]] = field(default_factory=dict)
    declines: set[str] = field(default_factory=set)
    pending: set[str] = field(default_factory=set)
    refusals: set[str] = field(default_factory=set)
    calls: int = 0

    async def charge(
        self,
        *,
        idempotency_key: str,
        customer_id: str,
        storefront_id: str,
        currency_code: str,
        amount_minor: int,
        description: str,
        payment_method_id: str = "",
    ) -> ChargeAnswer:
        self.calls += 1
        if idempotency_key in self.refusals:
            raise FailedPrecondition("the customer has no default payment method")
        if idempotency_key in self.pending:
            return ChargeAnswer(f"ch_{idempotency_key}", succeeded=False, failed=False)
        if idempotency_key not in self.charges:
            declined = idempotency_key in self.declines
            answer = ChargeAnswer(
                f"ch_{len(self.charges) + 1}", not declined, declined, "DO_NOT_HONOR" if declined else ""
            )
            self.charges[idempotency_key] = (answer, amount_minor, currency_code)
        return self.charges[idempotency_key][0]

    def collected(self) -> int:
        """Money captured across every charge made (each key once)."""
        return sum(amount for answer, amount, _ in self.charges.values() if answer.succeeded)


@dataclass
class FakeLifecycle:
    """Plan changes once per request id: `changed` maps each request id to (subscription, plan); `refusing` answers
    FAILED_PRECONDITION, `down` UNAVAILABLE."""

    changed: dict[str, tuple[str, str]] = field(default_factory=dict)
    calls: int = 0
    refusing: bool = False
    down: bool = False

    async def change_plan(self, *, subscription_id: str, plan_id: str, request_id: str) -> None:
        self.calls += 1
        if self.down:
            raise Unavailable("lifecycle is down")
        if self.refusing:
            raise FailedPrecondition("the subscription cannot change plan")
        self.changed.setdefault(request_id, (subscription_id, plan_id))


@dataclass
class FakeQuotaResets:
    """Catalog quota features' reset periods: `resets`, else every billing period."""

    resets: dict[str, QuotaReset] = field(default_factory=dict)

    async def reset_period(self, feature_key: str) -> QuotaReset:
        return self.resets.get(feature_key, QuotaReset.BILLING_PERIOD)


T0 = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = "acme"
MARCH = Period(T0, datetime(2026, 4, 1, tzinfo=UTC))
R = TypeVar("R")


@dataclass
class Billing:
    """The usage-billing use cases over fakes, acting for TENANT from T0; a customer subscribed to `plan_ai`
    in storefront `sf_us` (USD) for March, and a SUM meter `tokens`."""

    clock: FixedClock = field(default_factory=lambda: FixedClock(T0))
    payments: FakePayments = field(default_factory=FakePayments)
    resets: FakeQuotaResets = field(default_factory=FakeQuotaResets)
    events_seen: int = 0

    def __post_init__(self) -> None:
        self.uow = FakeBillingUnitOfWork(self.clock)
        self.uow.data.meters[(TENANT, "tokens")] = "sum"
        self.uow.data.accounts[(TENANT, "cus_1")] = UsageAccount("cus_1", "sub_1", "sf_us", "plan_ai", "USD", MARCH)

    async def run(self, work: Callable[[BillingUnitOfWork], Awaitable[R]]) -> R:
        """Run a use case in a unit of work as TENANT would, and commit."""
        with tenant_scope(TENANT):
            async with self.uow as uow:
                result = await work(uow)
                await uow.commit()
                return result

    async def follow(self, account: UsageAccount) -> None:
        """Lifecycle announced the customer's billing subscription with `account`'s plan and period."""
        await self.run(
            lambda uow: accounts.apply_subscription(uow, self.resets, TENANT, SubscriptionSnapshot(account, True))
        )

    async def usage(self, quantity: str, *, event_id: str = "", at: datetime | None = None, **dimensions: str) -> bool:
        """One `usage.recorded` of cus_1's `tokens` (one event); whether it started an auto-recharge."""
        return await self.batch([quantity], event_id=event_id, at=at, **dimensions)

    async def batch(
        self, amounts: Sequence[str], *, event_id: str = "", at: datetime | None = None, **dimensions: str
    ) -> bool:
        """The `usage.recorded` of a batch of cus_1's `tokens` events, each stored raw as ingestion does."""
        self.events_seen += 1
        when = at or self.clock.now()
        for amount in amounts:
            self.uow.data.raw_events.append((TENANT, "cus_1", "tokens", when, dimensions, Decimal(amount)))
        total = sum((Decimal(amount) for amount in amounts), Decimal(0))
        recorded = RecordedUsage(
            event_id or f"ev_{self.events_seen}", "cus_1", "tokens", "sum", dimensions, when, when, len(amounts), total
        )
        return await self.run(lambda uow: rating.rate_usage(uow, self.resets, TENANT, [recorded]))

    def published(self, event_type: str) -> list[Event]:
        return [event for event in self.uow.published if event.type == event_type]
