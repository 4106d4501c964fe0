"""Locking customers' usage periods: every change to a customer's usage, wallet or limits first locks the period
it counts in, so the changes of one customer apply one after the other on every replica."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from azotte_metering.billing_ports import BillingUnitOfWork
from azotte_metering.domain.charges import Period, UsageAccount, period_for

Locked = tuple[UsageAccount | None, Period]
"""A customer's usage account and the period their earliest usage counts in, locked."""


async def lock_periods_at(
    uow: BillingUnitOfWork, tenant_id: str, times: Mapping[str, Collection[datetime]]
) -> dict[str, Locked]:
    """Lock the period each customer's usage at each of their `times` counts in, until the unit of work ends: each
    customer's account and the period of their earliest time.

    NOTE: the periods of all the customers are locked in one statement, by (customer, start). Closing a period
    moves the account on while it holds that period's lock, so the accounts are read again once the locks are
    held and a customer whose account moved meanwhile has the periods of the new account locked too (that late
    lock breaks the order: a rare deadlock PostgreSQL ends by failing one transaction, which is retried).
    """
    accounts = await uow.usage.accounts(tenant_id, sorted(times))
    locked: dict[str, Locked] = {}
    pending = sorted(times)
    while pending:
        periods = {
            customer: sorted({period_for(accounts.get(customer), at)[0] for at in times[customer]}, key=_start)
            for customer in pending
        }
        await uow.usage.lock_periods(tenant_id, [(customer, p) for customer in pending for p in periods[customer]])
        now_held = await uow.usage.accounts(tenant_id, pending)
        moved = [customer for customer in pending if now_held.get(customer) != accounts.get(customer)]
        for customer in pending:
            if customer not in moved:
                locked[customer] = (accounts.get(customer), periods[customer][0])
        accounts = now_held
        pending = moved
    return locked


async def lock_current_period(uow: BillingUnitOfWork, tenant_id: str, customer_id: str, at: datetime) -> Locked:
    """The customer's usage account and the period usage at `at` counts in, locked until the unit of work ends."""
    return (await lock_periods_at(uow, tenant_id, {customer_id: [at]}))[customer_id]


def _start(period: Period) -> datetime:
    return period.start
