"""Usage charged in arrears: the period a renewal ends is closed and billed once, with the renewal's charge.

Lifecycle asks for the usage of the period its renewal charge ends (`CloseUsagePeriods`). The first call for a
(subscription, period) freezes the period's charges in a `UsageBill` and moves the customer's usage account
on to the next period, under the lock of the period's row: rating waits for it, then finds the period
closed, so usage arriving afterwards is re-rated into its own period and charged as an adjustment with the
next renewal. Every later call (the same charge retried, a dunning retry) answers the same bill, so the
usage is in every attempt of the renewal charge and paid by the one that succeeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from azotte_metering.billing_ports import BillingUnitOfWork, QuotaResets
from azotte_metering.domain.charges import PeriodToClose, UsageBill, UsageCharges
from azotte_metering.service_layer.limits import evaluate_limits
from azotte_metering.service_layer.periods import lock_current_period
from azotte_metering.service_layer.quotas import report_quota_use
from azotte_metering.service_layer.rating import charges_for
from azotte_platform.errors import InvalidArgument
from azotte_platform.validation import require_fields

MAX_PERIODS = 1000


async def close_usage_periods(
    uow: BillingUnitOfWork, resets: QuotaResets, tenant_id: str, periods: Sequence[PeriodToClose]
) -> list[UsageBill]:
    """The bill of each period, in request order; closed in customer order, so concurrent calls never deadlock."""
    if len(periods) > MAX_PERIODS:
        raise InvalidArgument.field("periods", f"at most {MAX_PERIODS} periods at once")
    for index, period in enumerate(periods):
        _validate(period, f"periods[{index}]")
    bills: dict[int, UsageBill] = {}
    for index in sorted(range(len(periods)), key=lambda i: (periods[i].customer_id, periods[i].period.start)):
        bills[index] = await close_usage_period(uow, resets, tenant_id, periods[index])
    return [bills[index] for index in range(len(periods))]


async def close_usage_period(
    uow: BillingUnitOfWork, resets: QuotaResets, tenant_id: str, request: PeriodToClose
) -> UsageBill:
    """Bill the usage of the period the renewal ends, once; a repeat answers the first bill.

    NOTE: usage is counted in the customer's current period until the renewal closes it, so when metering
    has not seen the period start yet (its lifecycle event is late) the current period is what is billed.
    A subscription that is not the one the customer's usage is priced under bills no usage.
    """
    customer = request.customer_id
    account, current = await lock_current_period(uow, tenant_id, customer, request.period.start)
    billed = await uow.usage.bill(tenant_id, request.subscription_id, request.period.start)
    if billed is not None:
        return billed
    now = uow.clock.now()
    if account is None or account.subscription_id != request.subscription_id:
        currency = account.currency_code if account is not None else ""
        charges = UsageCharges(customer, request.period, currency, (), (), 0, request.subscription_id)
    elif current.start <= request.period.start:
        charges = await charges_for(uow, tenant_id, customer, account, current)
        await uow.usage.close_period(tenant_id, customer, current, now)
        await uow.usage.put_account(tenant_id, replace(account, period=request.next_period), now)
        await report_quota_use(uow, resets, tenant_id, customer, now)
        await evaluate_limits(uow, tenant_id, customer, now)
    else:
        charges = await charges_for(uow, tenant_id, customer, account, request.period)
    bill = UsageBill(request.subscription_id, charges, now)
    await uow.usage.put_bill(tenant_id, request.period.start, bill)
    return bill


def _validate(request: PeriodToClose, prefix: str) -> None:
    require_fields(
        **{f"{prefix}.subscription_id": request.subscription_id, f"{prefix}.customer_id": request.customer_id}
    )
    if request.period.start >= request.period.end:
        raise InvalidArgument.field(f"{prefix}.period_end_time", "must be after period_start_time")
    if request.next_period.end <= request.period.end:
        raise InvalidArgument.field(f"{prefix}.next_period_end_time", "must be after period_end_time")
