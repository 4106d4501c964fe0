"""What the usage-billing use cases need: prices, usage per period, wallets, limits, payments, the unit of work.

The adapters implement these over PostgreSQL (`adapters/repositories/`), the unit tests with fakes
(`tests/unit/metering/billing_fakes.py`). Exactness under concurrency lives in `UsageRepository.lock_periods`:
every change to a customer's usage, wallet or limits in a period first locks that period's row, so events,
grants and top-ups of one customer apply one after the other.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from azotte_metering.domain.charges import Adjustment, Period, UsageAccount, UsageBill, UsageTotal
from azotte_metering.domain.limits import Limit, LimitState
from azotte_metering.domain.meters import Meter
from azotte_metering.domain.pricing import UsagePrice
from azotte_metering.domain.quotas import QuotaReset
from azotte_metering.domain.usage import Rollup, Span
from azotte_metering.domain.wallets import Movement, Wallet
from azotte_platform.ports import AbstractUnitOfWork


class UsagePriceRepository(Protocol):
    """Usage prices keyed by (storefront, plan, meter, dimension values)."""

    async def put(self, tenant_id: str, price: UsagePrice, now: datetime) -> None:
        """Insert or replace the price of its key."""
        ...

    async def delete(
        self, tenant_id: str, storefront_id: str, plan_id: str, meter_key: str, dimensions: Mapping[str, str]
    ) -> bool:
        """Remove the price of that key; False when there was none."""
        ...

    async def of_plan(self, tenant_id: str, storefront_id: str, plan_id: str, meter_key: str = "") -> list[UsagePrice]:
        """The plan's prices in the storefront (of one meter when `meter_key` is given)."""
        ...

    async def meter_aggregation(self, tenant_id: str, meter_key: str) -> str | None:
        """The aggregation of the tenant's meter (`sum`, `count`, ...), None when there is no such meter."""
        ...


class QuotaResets(Protocol):
    """How often each catalog quota feature starts afresh, in the tenant of the request context."""

    async def reset_period(self, feature_key: str) -> QuotaReset:
        """The feature's reset period; every billing period for a feature the catalog does not know."""
        ...


class UsageRepository(Protocol):
    """Usage accounts, periods, per-period totals, adjustments and the bills of closed periods."""

    async def account(self, tenant_id: str, customer_id: str) -> UsageAccount | None: ...

    async def accounts(self, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, UsageAccount]:
        """The accounts of those customers that have one, by customer."""
        ...

    async def quota_meters(self, tenant_id: str) -> list[Meter]:
        """The tenant's meters measuring at least one quota feature."""
        ...

    async def put_account(self, tenant_id: str, account: UsageAccount, now: datetime) -> None: ...

    async def lock_periods(self, tenant_id: str, periods: Sequence[tuple[str, Period]]) -> None:
        """Create each (customer, period) if new and lock it until the unit of work ends, in the order given."""
        ...

    async def credited(self, tenant_id: str, customer_id: str, period: Period) -> int:
        """The credit the period's usage was paid so far (0 for a period not recorded)."""
        ...

    async def add_credited(self, tenant_id: str, credits: Sequence[tuple[str, Period, int]]) -> None:
        """Add to each (customer, period) the credit its usage was paid (minor units); a period once at most."""
        ...

    async def close_period(self, tenant_id: str, customer_id: str, period: Period, now: datetime) -> None: ...

    async def period_containing(self, tenant_id: str, customer_id: str, at: datetime) -> Period | None:
        """The customer's recorded period holding `at`, if any."""
        ...

    async def put_totals(self, tenant_id: str, totals: Sequence[tuple[str, Period, UsageTotal]]) -> None:
        """Store (customer, period, total)s, each of another customer, period, meter or dimension values, replacing
        those kept."""
        ...

    async def totals(self, tenant_id: str, customer_id: str, period: Period) -> list[UsageTotal]: ...

    async def totals_of(self, tenant_id: str, periods: Mapping[str, Period]) -> dict[str, list[UsageTotal]]:
        """The totals of one period of each customer, by customer (none for a customer without any)."""
        ...

    async def rollups(self, tenant_id: str, customer_id: str, meter_key: str, spans: Sequence[Span]) -> list[Rollup]:
        """The customer's rollup buckets of the meter in `spans`, by event time (a quota's window)."""
        ...

    async def transactions(
        self, tenant_id: str, customer_id: str, meter_key: str, since: datetime, until: datetime | None
    ) -> list[tuple[Mapping[str, str], Decimal]]:
        """The meter's raw events of the customer in [since, until) (no end when None): each event's dimension
        values and amount, for prices applied per transaction."""
        ...

    async def add_adjustment(self, tenant_id: str, customer_id: str, period: Period, adjustment: Adjustment) -> None:
        """Record late usage carried by `period`'s charge; an id already recorded is ignored."""
        ...

    async def adjustments(self, tenant_id: str, customer_id: str, period: Period) -> list[Adjustment]: ...

    async def adjustments_of(self, tenant_id: str, periods: Mapping[str, Period]) -> dict[str, list[Adjustment]]:
        """The adjustments of one period of each customer, by customer (none for a customer without any)."""
        ...

    async def bill(self, tenant_id: str, subscription_id: str, period_start: datetime) -> UsageBill | None:
        """The usage billed with the renewal that ended the subscription's period starting at `period_start`."""
        ...

    async def put_bill(self, tenant_id: str, period_start: datetime, bill: UsageBill) -> None:
        """Record the bill of the subscription's period starting at `period_start`."""
        ...


class RechargeState(StrEnum):
    """Where an auto-recharge stands."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Recharge:
    """An auto-recharge: a charge of `amount_minor` whose idempotency key is `recharge_id`."""

    tenant_id: str
    recharge_id: str
    customer_id: str
    currency_code: str
    storefront_id: str
    amount_minor: int
    state: RechargeState = RechargeState.PENDING
    charge_id: str = ""
    failure: str = ""


@dataclass(frozen=True, slots=True)
class MovementEntry:
    """A movement as stored: its sequence number (the history's order) and the balance after it."""

    seq: int
    currency_code: str
    movement: Movement
    balance_after_minor: int


@dataclass(frozen=True, slots=True)
class WalletChange:
    """A wallet as a change left it, the movements the change made, and the balance after them."""

    wallet: Wallet
    movements: Sequence[Movement] = ()
    balance_after_minor: int = 0


class WalletRepository(Protocol):
    """Wallets with their grants (loaded whole), their movements and auto-recharges."""

    async def get(self, tenant_id: str, customer_id: str, currency_code: str) -> Wallet | None: ...

    async def of_customers(self, tenant_id: str, customer_ids: Sequence[str]) -> dict[str, list[Wallet]]:
        """Each customer's wallets, by currency, by customer (none for a customer without any)."""
        ...

    async def save(self, tenant_id: str, changes: Sequence[WalletChange], now: datetime) -> None:
        """Insert or update each wallet changed (one change per wallet) and every grant it holds, and append the
        change's movements to its history."""
        ...

    async def movements(
        self, tenant_id: str, customer_id: str, currency_code: str, limit: int, before_seq: int | None
    ) -> list[MovementEntry]:
        """The wallet's history, newest first, before `before_seq`."""
        ...

    async def add_recharge(self, recharge: Recharge, now: datetime) -> None: ...

    async def lock_recharge(self, tenant_id: str, recharge_id: str) -> Recharge | None:
        """The recharge, locked until the unit of work ends."""
        ...

    async def save_recharge(self, recharge: Recharge, now: datetime) -> None: ...

    async def pending_recharges(self, limit: int) -> list[Recharge]:
        """Auto-recharges of any tenant whose charge has not answered yet, oldest first."""
        ...


class LimitRepository(Protocol):
    """Limits with where each stands in its period."""

    async def put(self, tenant_id: str, limit: Limit, state: LimitState, now: datetime) -> None:
        """Insert or replace a limit."""
        ...

    async def get(self, tenant_id: str, limit_id: str) -> tuple[Limit, LimitState] | None: ...

    async def delete(self, tenant_id: str, limit_id: str) -> None: ...

    async def of_customers(
        self, tenant_id: str, customer_ids: Sequence[str]
    ) -> dict[str, list[tuple[Limit, LimitState]]]:
        """Each customer's limits, by limit id, by customer (none for a customer without any)."""
        ...

    async def save_state(self, tenant_id: str, limit_id: str, state: LimitState, now: datetime) -> None: ...


@dataclass(frozen=True, slots=True)
class ChargeAnswer:
    """What payments answered to a charge: succeeded, failed (with why), or neither yet (asked again later)."""

    charge_id: str
    succeeded: bool
    failed: bool
    failure: str = ""


class Payments(Protocol):
    """Charges through the payments service, once per idempotency key."""

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
    ) -> ChargeAnswer: ...


class Lifecycle(Protocol):
    """Plan changes through the lifecycle service, once per request id."""

    async def change_plan(self, *, subscription_id: str, plan_id: str, request_id: str) -> None:
        """Move the subscription to the plan at once (lifecycle's immediate plan change)."""
        ...


class BillingUnitOfWork(AbstractUnitOfWork, Protocol):
    """The usage-billing repositories over one transaction; events emitted are published if it commits."""

    @property
    def prices(self) -> UsagePriceRepository: ...

    @property
    def usage(self) -> UsageRepository: ...

    @property
    def wallets(self) -> WalletRepository: ...

    @property
    def limits(self) -> LimitRepository: ...
