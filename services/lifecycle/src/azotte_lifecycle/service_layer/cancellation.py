"""Cancelling a subscription at period end or now, paying the unused time back when asked."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from azotte_lifecycle.domain.policy import CancelMode
from azotte_lifecycle.domain.refunds import cancel_refund_reason, plan_refund
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import RefundLimitExceeded
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Payments
from azotte_lifecycle.service_layer.subscriptions import load, save
from azotte_platform.request_ids import derive_request_id


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """What CancelSubscription asks for; `request_id` keys the refunds an immediate cancel makes."""

    subscription_id: str
    mode: CancelMode | None
    refund: bool
    request_id: str
    max_refund_minor: int | None = None


async def cancel(
    uow: LifecycleUnitOfWork, catalog: Catalog, payments: Payments, tenant_id: str, request: CancelRequest
) -> tuple[Subscription, int]:
    """Cancel at period end or now; returns the prorated refund in minor units, paid back first.

    The refund includes the tax the storefront adds on top of its prices (from the catalog). A retry,
    even under another request id, pays back only what is still missing; when a refund fails or
    exceeds the caller's `max_refund_minor`, nothing is cancelled.
    """
    sub = await load(uow, tenant_id, request.subscription_id)
    policy = (await uow.policies.get(tenant_id)).for_plan(sub.plan_id)
    now = uow.clock.now()
    added_tax_rate = Decimal(0)
    if request.refund:
        price = await catalog.price(sub.plan_id, sub.storefront_id, sub.channel, now)
        added_tax_rate = price.added_tax_rate
    # NOTE: the domain refuses store-billed subscriptions (their store refunds), so only money
    # Azotte collected is paid back below.
    refund_minor = sub.cancel(now, policy, mode=request.mode, refund=request.refund, added_tax_rate=added_tax_rate)
    if request.max_refund_minor is not None and refund_minor > request.max_refund_minor:
        raise RefundLimitExceeded(
            f"the prorated refund of {refund_minor} minor units is above the limit of "
            f"{request.max_refund_minor} per refund (max_refund_minor)"
        )
    if refund_minor > 0:
        await pay_back_unused(payments, sub, refund_minor, request.request_id)
    await save(uow, sub)
    return sub, refund_minor


async def pay_back_unused(payments: Payments, sub: Subscription, amount_minor: int, request_id: str) -> None:
    """Refund `amount_minor` from the charges that paid the current period, newest first."""
    reason = cancel_refund_reason(sub.id)
    also = [sub.first_period_charge_id] if sub.first_period_charge_id else []
    for leg in plan_refund(amount_minor, await payments.paid_charges(sub, also, reason)):
        destination = "credit" if leg.to_credit else "method"
        key = derive_request_id("lifecycle", "cancel-refund", sub.id, request_id, leg.charge_id, destination)
        await payments.refund(sub, leg, key, reason)
