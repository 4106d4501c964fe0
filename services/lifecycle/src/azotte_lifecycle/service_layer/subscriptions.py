"""Use cases on subscriptions: create, cancel (and refund), reactivate, pause, resume, change plan (and pay for it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from azotte_lifecycle.adapters.catalog import Catalog, quote
from azotte_lifecycle.adapters.payments import Payments
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.policy import CancelMode
from azotte_lifecycle.domain.refunds import cancel_refund_reason, plan_refund
from azotte_lifecycle.domain.states import BillingOrigin, Channel
from azotte_lifecycle.domain.subscription import ChangeTiming, PlanChangePreview, PlanTerms, Subscription
from azotte_lifecycle.service_layer.customers import get_customer
from azotte_lifecycle.service_layer.unit_of_work import LifecycleUnitOfWork
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unavailable
from azotte_platform.idempotency import derive_request_id


@dataclass(frozen=True, slots=True)
class PlanChangeRequest:
    """What ChangeSubscriptionPlan asks for; `request_id` keys the money the change moves."""

    subscription_id: str
    plan_id: str
    timing: ChangeTiming | None
    request_id: str


@dataclass(frozen=True, slots=True)
class CancelRequest:
    """What CancelSubscription asks for; `request_id` keys the refunds an immediate cancel makes."""

    subscription_id: str
    mode: CancelMode | None
    refund: bool
    request_id: str
    max_refund_minor: int | None = None


@dataclass(frozen=True, slots=True)
class NewSubscription:
    """What CreateSubscription asks for."""

    customer_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    billing_origin: BillingOrigin
    trial_end: datetime | None = None
    period_end: datetime | None = None
    initial_charge_id: str = ""


async def create_subscription(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, new: NewSubscription
) -> Subscription:
    """Create a subscription priced by the catalog, trialing when asked or when the plan has a trial."""
    if not new.storefront_id:
        raise InvalidArgument.field("storefront_id", "is required")
    if new.period_end is not None and new.billing_origin is not BillingOrigin.STORE_BILLED:
        raise InvalidArgument.field("period_end_time", "only store-billed subscriptions take the store's period end")
    await get_customer(uow, tenant_id, new.customer_id)
    now = uow.clock.now()
    priced = await quote(catalog, tenant_id, new.plan_id, new.storefront_id, new.channel, now)
    trial_end = new.trial_end
    if trial_end is None and new.period_end is None and priced.trial_days > 0:
        # NOTE: without an explicit trial end, the plan's trial length from the catalog applies.
        trial_end = now + timedelta(days=priced.trial_days)
    sub = Subscription.create(
        subscription_id=f"sub_{uuid.uuid4().hex}",
        tenant_id=tenant_id,
        customer_id=new.customer_id,
        plan=priced.terms,
        storefront_id=new.storefront_id,
        channel=new.channel,
        billing_origin=new.billing_origin,
        now=now,
        trial_end=trial_end,
        period_end=new.period_end,
        initial_charge_id=new.initial_charge_id,
    )
    await uow.add(sub)
    return sub


async def load(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str, *, lock: bool = True) -> Subscription:
    """The subscription, locked for the rest of the unit of work."""
    if not subscription_id:
        raise InvalidArgument.field("subscription_id", "is required")
    sub = await uow.subscriptions.get(tenant_id, subscription_id, for_update=lock)
    if sub is None:
        raise NotFound(f"subscription {subscription_id} not found", reason="SUBSCRIPTION_NOT_FOUND")
    return sub


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
        price = await catalog.price(tenant_id, sub.plan_id, sub.storefront_id, sub.channel, now)
        added_tax_rate = price.added_tax_rate
    # NOTE: the domain refuses store-billed subscriptions (their store refunds), so only money
    # Azotte collected is paid back below.
    refund_minor = sub.cancel(now, policy, mode=request.mode, refund=request.refund, added_tax_rate=added_tax_rate)
    if request.max_refund_minor is not None and refund_minor > request.max_refund_minor:
        raise PermissionDenied(
            f"the prorated refund of {refund_minor} minor units is above the limit of "
            f"{request.max_refund_minor} per refund (max_refund_minor)",
            reason="REFUND_LIMIT_EXCEEDED",
        )
    if refund_minor > 0:
        await pay_back_unused(payments, sub, refund_minor, request.request_id)
    await uow.save(sub)
    return sub, refund_minor


async def pay_back_unused(payments: Payments, sub: Subscription, amount_minor: int, request_id: str) -> None:
    """Refund `amount_minor` from the charges that paid the current period, newest first."""
    reason = cancel_refund_reason(sub.id)
    also = [sub.first_period_charge_id] if sub.first_period_charge_id else []
    for leg in plan_refund(amount_minor, await payments.paid_charges(sub, also, reason)):
        destination = "credit" if leg.to_credit else "method"
        key = derive_request_id("lifecycle", "cancel-refund", sub.id, request_id, leg.charge_id, destination)
        await payments.refund(sub, leg, key, reason)


async def reactivate(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    sub = await load(uow, tenant_id, subscription_id)
    sub.reactivate(uow.clock.now())
    await uow.save(sub)
    return sub


async def pause(
    uow: LifecycleUnitOfWork,
    tenant_id: str,
    subscription_id: str,
    *,
    until: datetime | None,
    periods: int | None,
) -> Subscription:
    sub = await load(uow, tenant_id, subscription_id)
    policy = (await uow.policies.get(tenant_id)).for_plan(sub.plan_id)
    sub.pause(uow.clock.now(), policy, until=until, periods=periods)
    await uow.save(sub)
    return sub


async def resume(uow: LifecycleUnitOfWork, tenant_id: str, subscription_id: str) -> Subscription:
    sub = await load(uow, tenant_id, subscription_id)
    sub.resume(uow.clock.now())
    await uow.save(sub)
    return sub


async def preview_plan_change(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    tenant_id: str,
    subscription_id: str,
    plan_id: str,
    timing: ChangeTiming | None,
) -> tuple[Subscription, PlanChangePreview]:
    """Price the new plan and preview the change (nothing is changed, nothing is charged)."""
    sub, new_plan, rank = await _price_change(uow, catalog, tenant_id, subscription_id, plan_id, lock=False)
    return sub, sub.preview_plan_change(new_plan, uow.clock.now(), current_rank=rank, timing=timing)


async def change_plan(
    uow: LifecycleUnitOfWork,
    catalog: Catalog,
    payments: Payments,
    tenant_id: str,
    change: PlanChangeRequest,
) -> tuple[Subscription, PlanChangePreview]:
    """Change the plan now or at period end; an immediate change first settles its proration.

    A positive net is charged (a decline leaves the plan as it was); a negative net is credited to
    the customer. Both are keyed by the request id, so a retry never moves money twice.
    """
    sub, new_plan, rank = await _price_change(
        uow, catalog, tenant_id, change.subscription_id, change.plan_id, lock=True
    )
    now = uow.clock.now()
    preview = sub.preview_plan_change(new_plan, now, current_rank=rank, timing=change.timing)
    net = preview.proration.net_minor
    if preview.timing is ChangeTiming.IMMEDIATE and net > 0:
        key = derive_request_id("lifecycle", "plan-change", sub.id, change.request_id)
        outcome = await payments.charge_plan_change(sub, new_plan.plan_id, net, key)
        if outcome is None:
            raise Unavailable(
                "the plan change's payment has no outcome yet; retry with the same request_id",
                reason="PAYMENT_PENDING",
            )
        if outcome is not ChargeOutcome.SUCCEEDED:
            raise FailedPrecondition(
                f"the plan change's payment of {net} minor units was declined; the plan is unchanged",
                reason="PAYMENT_DECLINED",
                metadata={"decline_outcome": outcome.value},
            )
    elif preview.timing is ChangeTiming.IMMEDIATE and net < 0:
        reason = f"unused time of {sub.plan_id} on the change of {sub.id} to {new_plan.plan_id}"
        key = derive_request_id("lifecycle", "plan-change-credit", sub.id, change.request_id)
        await payments.credit(sub, -net, key, reason)
    applied = sub.change_plan(new_plan, now, current_rank=rank, timing=change.timing)
    await uow.save(sub)
    return sub, applied


async def _price_change(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, subscription_id: str, plan_id: str, *, lock: bool
) -> tuple[Subscription, PlanTerms, int]:
    """The subscription, the new plan's terms in its storefront now, and the current plan's rank."""
    if not plan_id:
        raise InvalidArgument.field("plan_id", "is required")
    sub = await load(uow, tenant_id, subscription_id, lock=lock)
    current = await catalog.plan(tenant_id, sub.plan_id)
    priced = await quote(catalog, tenant_id, plan_id, sub.storefront_id, sub.channel, uow.clock.now())
    return sub, priced.terms, current.rank
