"""Quota features measured by meters: a customer's use of each in its current window, told to entitlement
(`quota.used`) whenever their usage of the meter or their period changes; entitlement's checks compare it with
the plan's quota, and count it as unused once its window has ended."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

from azotte_metering.billing_ports import BillingUnitOfWork, QuotaResets
from azotte_metering.domain.billing_events import QuotaUsed
from azotte_metering.domain.charges import Period, period_for
from azotte_metering.domain.ingestion import AHEAD_LIMIT
from azotte_metering.domain.meters import Meter
from azotte_metering.domain.quotas import QuotaWindow, quota_used, quota_window
from azotte_metering.domain.usage import Granularity, cover

Quantities = list[tuple[Mapping[str, str], Decimal]]


async def report_quota_use(
    uow: BillingUnitOfWork,
    resets: QuotaResets,
    tenant_id: str,
    customer_id: str,
    now: datetime,
    *,
    meter_keys: Collection[str] = (),
    quota_meters: Sequence[Meter] | None = None,
) -> None:
    """Emit `quota.used` for each quota feature the tenant's meters measure (only those of `meter_keys` when
    given), from the customer's usage in the feature's current window; `quota_meters` are the tenant's meters
    with quota features when already read (customers rated together share them)."""
    if quota_meters is None:
        quota_meters = await uow.usage.quota_meters(tenant_id)
    meters = [meter for meter in quota_meters if not meter_keys or meter.key in meter_keys]
    if not meters:
        return
    account = await uow.usage.account(tenant_id, customer_id)
    period, _ = period_for(account, now)
    read: dict[tuple[str, QuotaWindow], Quantities] = {}
    for meter in meters:
        for quota in meter.quota_features:
            window = quota_window(await resets.reset_period(quota.feature_key), period, now)
            if (meter.key, window) not in read:
                read[meter.key, window] = await _quantities(uow, tenant_id, customer_id, meter, period, window, now)
            used = quota_used(quota, read[meter.key, window])
            uow.emit(tenant_id, QuotaUsed(customer_id, quota.feature_key, meter.key, used, window))


async def _quantities(
    uow: BillingUnitOfWork,
    tenant_id: str,
    customer_id: str,
    meter: Meter,
    period: Period,
    window: QuotaWindow,
    now: datetime,
) -> Quantities:
    """The meter's quantity per dimension values in `window`: the period's totals (late usage included) when the
    window is the billing period, else the rollups of the window's minutes (its first minute counts in it)."""
    if (window.start, window.end) == (period.start, period.end):
        totals = await uow.usage.totals(tenant_id, customer_id, period)
        return [(total.dimensions, total.quantity) for total in totals if total.meter_key == meter.key]
    minute = Granularity.MINUTE
    end = minute.floor(window.end) if window.end is not None else minute.ceil(now + AHEAD_LIMIT)
    spans = cover(minute.floor(window.start), end)
    rollups = await uow.usage.rollups(tenant_id, customer_id, meter.key, spans)
    return [(rollup.dimensions, rollup.bucket.value(meter.aggregation)) for rollup in rollups]
