"""Usage accounts: each customer's plan, storefront, currency and billing period, kept from lifecycle's events."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_metering.billing_ports import BillingUnitOfWork, QuotaResets
from azotte_metering.domain.charges import UsageAccount
from azotte_metering.service_layer.limits import evaluate_limits
from azotte_metering.service_layer.quotas import report_quota_use


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """A subscription as a lifecycle event shows it; `billing` is False once it no longer bills (expired)."""

    account: UsageAccount
    billing: bool


async def apply_subscription(
    uow: BillingUnitOfWork, resets: QuotaResets, tenant_id: str, snapshot: SubscriptionSnapshot
) -> None:
    """Follow the customer's subscription: a new period closes the previous one and restarts the limits and the
    quotas measured.

    NOTE: a snapshot of an older period, or of another subscription that no longer bills, changes nothing
    (events may arrive out of order; the customer's billing subscription wins).
    """
    new = snapshot.account
    current = await uow.usage.account(tenant_id, new.customer_id)
    if current == new:
        return  # NOTE: e.g. `subscription.activated` after `created`: the account is followed already.
    if current is not None:
        if new.period.start < current.period.start:
            return
        if new.subscription_id != current.subscription_id and not snapshot.billing:
            return
    now = uow.clock.now()
    await uow.usage.lock_periods(tenant_id, [(new.customer_id, new.period)])
    await uow.usage.put_account(tenant_id, new, now)
    if current is None:
        await report_quota_use(uow, resets, tenant_id, new.customer_id, now)
    elif new.period.start > current.period.start:
        await uow.usage.close_period(tenant_id, new.customer_id, current.period, now)
        await evaluate_limits(uow, tenant_id, new.customer_id, now)
        await report_quota_use(uow, resets, tenant_id, new.customer_id, now)
