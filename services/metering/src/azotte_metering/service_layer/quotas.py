"""Quota features measured by meters: a customer's use of each in their current period, told to entitlement
(`quota.used`) whenever their usage of the meter or their period changes; entitlement's checks compare it with
the plan's quota."""

from __future__ import annotations

from datetime import datetime

from azotte_metering.billing_ports import BillingUnitOfWork
from azotte_metering.domain.billing_events import QuotaUsed
from azotte_metering.domain.charges import period_for
from azotte_metering.domain.quotas import quota_uses


async def report_quota_use(
    uow: BillingUnitOfWork, tenant_id: str, customer_id: str, now: datetime, *, meter_key: str = ""
) -> None:
    """Emit `quota.used` for each quota feature the tenant's meters measure (only those of `meter_key` when
    given), from the customer's usage in their current period."""
    meters = [meter for meter in await uow.usage.quota_meters(tenant_id) if meter_key in ("", meter.key)]
    if not meters:
        return
    account = await uow.usage.account(tenant_id, customer_id)
    period, _ = period_for(account, now)
    totals = await uow.usage.totals(tenant_id, customer_id, period)
    for use in quota_uses(meters, totals):
        uow.emit(tenant_id, QuotaUsed(customer_id, use.feature_key, use.meter_key, use.used, period))
