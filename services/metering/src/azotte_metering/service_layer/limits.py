"""Limits: set, read and remove them, and compare a customer's usage, spend and credit with them.

Crossing a threshold emits `threshold.crossed`; reaching a hard limit emits `limit.reached`, which the
entitlement service turns into a suspension of the feature (checks answer QUOTA_EXHAUSTED or
SPEND_LIMIT_REACHED); `limit.released` lifts it. Reaching a DOWNGRADE limit emits `limit.downgrade_ordered`
once per period, and `downgrade` moves the customer's subscription to the limit's plan through lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from azotte_metering.billing_ports import BillingUnitOfWork, Lifecycle
from azotte_metering.domain.billing_events import DowngradeOrdered, LimitReached, LimitReleased, ThresholdCrossed
from azotte_metering.domain.charges import Adjustment, Period, UsageAccount, UsageTotal, period_for
from azotte_metering.domain.limits import Limit, LimitState, Measure, evaluate
from azotte_metering.domain.wallets import Wallet
from azotte_metering.errors import LimitNotFound, LimitOfAnotherCustomer
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound

log = logging.getLogger(__name__)


def period_key(period: Period) -> str:
    return period.start.isoformat()


async def set_limit(uow: BillingUnitOfWork, tenant_id: str, limit: Limit) -> tuple[Limit, LimitState]:
    """Create or replace a limit, and apply it to the usage so far (a lowered limit cuts off, a raised one
    restores)."""
    if not limit.limit_id:
        raise InvalidArgument.field("limit.limit_id", "is required")
    if not limit.customer_id:
        raise InvalidArgument.field("limit.customer_id", "is required")
    now = uow.clock.now()
    existing = await uow.limits.get(tenant_id, limit.limit_id)
    if existing is not None and existing[0].customer_id != limit.customer_id:
        raise LimitOfAnotherCustomer(f"limit {limit.limit_id!r} belongs to another customer")
    state = existing[1] if existing is not None else LimitState("")
    await uow.limits.put(tenant_id, limit, state, now)
    await evaluate_limits(uow, tenant_id, limit.customer_id, now, only=limit.limit_id)
    found = await uow.limits.get(tenant_id, limit.limit_id)
    assert found is not None
    return found


async def get_limit(uow: BillingUnitOfWork, tenant_id: str, limit_id: str) -> tuple[Limit, LimitState]:
    found = await uow.limits.get(tenant_id, limit_id)
    if found is None:
        raise LimitNotFound(f"limit {limit_id!r} not found")
    return found


async def list_limits(uow: BillingUnitOfWork, tenant_id: str, customer_id: str) -> list[tuple[Limit, LimitState]]:
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    return (await uow.limits.of_customers(tenant_id, [customer_id])).get(customer_id, [])


async def delete_limit(uow: BillingUnitOfWork, tenant_id: str, limit_id: str) -> Limit:
    """Remove a limit; a feature it held cut off is released."""
    limit, state = await get_limit(uow, tenant_id, limit_id)
    await uow.limits.delete(tenant_id, limit_id)
    if state.cut_off:
        account = await uow.usage.account(tenant_id, limit.customer_id)
        period, _ = period_for(account, uow.clock.now())
        uow.emit(tenant_id, LimitReleased(limit, Decimal(0), period))
    return limit


@dataclass(frozen=True, slots=True)
class KnownUsage:
    """What a caller already holds of a customer in the unit of work (rating), so that evaluating their limits reads
    none of it again: their limits, usage account, one period's totals and adjustments (those of a customer with a
    spend limit), and wallets by currency."""

    limits: list[tuple[Limit, LimitState]]
    account: UsageAccount | None
    period: Period
    totals: list[UsageTotal]
    adjustments: list[Adjustment]
    wallets: Mapping[str, Wallet]


async def evaluate_limits(
    uow: BillingUnitOfWork,
    tenant_id: str,
    customer_id: str,
    now: datetime,
    *,
    only: str = "",
    known: KnownUsage | None = None,
) -> None:
    """Compare the customer's limits (or only `only`) with their usage in the current period, emitting what
    crossed, reached or released."""
    if known is not None:
        pairs = known.limits
    else:
        pairs = (await uow.limits.of_customers(tenant_id, [customer_id])).get(customer_id, [])
    if only:
        pairs = [pair for pair in pairs if pair[0].limit_id == only]
    if not pairs:
        return
    account = known.account if known is not None else await uow.usage.account(tenant_id, customer_id)
    period, _ = period_for(account, now)
    # NOTE: only a spend limit counts the adjustments (late usage of a billed period) with the period's amount.
    spend = any(limit.measure is Measure.SPEND for limit, _ in pairs)
    if known is not None and known.period == period:
        totals, adjustments = known.totals, known.adjustments
    else:
        totals = await uow.usage.totals(tenant_id, customer_id, period)
        adjustments = await uow.usage.adjustments(tenant_id, customer_id, period) if spend else []
    for limit, state in pairs:
        if limit.measure is Measure.CREDIT:
            if known is not None:
                wallet = known.wallets.get(limit.currency_code)
            else:
                wallet = await uow.wallets.get(tenant_id, customer_id, limit.currency_code)
            level = Decimal(wallet.balance(now) if wallet is not None else 0)
        elif limit.measure is Measure.UNITS:
            level = _units(totals, limit.meter_key)
        else:
            level = Decimal(
                sum(t.rated_minor for t in totals if t.currency_code == limit.currency_code)
                + sum(a.amount_minor for a in adjustments if a.currency_code == limit.currency_code)
            )
        outcome = evaluate(limit, state, period_key(period), level)
        uow.emit(tenant_id, *(ThresholdCrossed(limit, percent, level, period) for percent in outcome.crossed))
        if outcome.cut_off:
            uow.emit(tenant_id, LimitReached(limit, level, period))
        if outcome.restored:
            uow.emit(tenant_id, LimitReleased(limit, level, period))
        if outcome.downgrade:
            uow.emit(tenant_id, DowngradeOrdered(limit, level, period))
        if outcome.state != state:
            await uow.limits.save_state(tenant_id, limit.limit_id, outcome.state, now)


def _units(totals: list[UsageTotal], meter_key: str) -> Decimal:
    return sum((t.quantity for t in totals if t.meter_key == meter_key), Decimal(0))


@dataclass(frozen=True, slots=True)
class DowngradeOrder:
    """What `limit.downgrade_ordered` asks: the customer's subscription moved to `plan_id`, once for the period."""

    customer_id: str
    limit_id: str
    plan_id: str
    period_key: str


async def downgrade(uow: BillingUnitOfWork, lifecycle: Lifecycle, tenant_id: str, order: DowngradeOrder) -> None:
    """Move the customer's subscription to the limit's plan (request id: the limit and period, so a redelivered
    order changes the plan once); a change lifecycle refuses (no such plan, a subscription that cannot change)
    is logged and dropped, a lifecycle that cannot answer is retried.
    """
    account = await uow.usage.account(tenant_id, order.customer_id)
    if account is None or account.plan_id == order.plan_id:
        return
    try:
        await lifecycle.change_plan(
            subscription_id=account.subscription_id,
            plan_id=order.plan_id,
            request_id=f"limit-downgrade:{order.limit_id}:{order.period_key}",
        )
    except (FailedPrecondition, InvalidArgument, NotFound) as refused:
        log.warning("downgrade of %s by limit %s refused: %s", account.subscription_id, order.limit_id, refused)
