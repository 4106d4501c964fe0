"""Changing a subscription's plan now or at period end; an immediate change first settles its proration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.periods import shift
from azotte_lifecycle.domain.price_changes import renewal_after_plan_change
from azotte_lifecycle.domain.subscription import ChangeTiming, PlanChangePreview, PlanTerms, Subscription
from azotte_lifecycle.errors import PaymentPending
from azotte_lifecycle.ports import Catalog, LifecycleUnitOfWork, Payments, RenewalPriceQuery
from azotte_lifecycle.service_layer.pricing import quote
from azotte_lifecycle.service_layer.subscriptions import load, save
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import InvalidArgument, PaymentDeclined
from azotte_platform.request_ids import derive_request_id


@dataclass(frozen=True, slots=True)
class PlanChangeRequest:
    """What ChangeSubscriptionPlan asks for; `request_id` keys the money the change moves."""

    subscription_id: str
    plan_id: str
    timing: ChangeTiming | None
    request_id: str


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


async def next_renewal_price(catalog: Catalog, sub: Subscription, change: PlanChangePreview, now: datetime) -> int:
    """What the first renewal after `change` charges: the catalog's price of the new plan at that renewal for a
    subscription that bought it when the change applies, an increase only after its notice (as renewals do)."""
    plan = change.new_plan
    changed_at = now if change.timing is ChangeTiming.IMMEDIATE else sub.current_period_end
    renewal_at = sub.current_period_end
    if (
        change.timing is ChangeTiming.IMMEDIATE
        and sub.state is SubscriptionState.ACTIVE
        and plan.interval != sub.interval
    ):
        renewal_at = shift(now, plan.interval, 1)  # NOTE: an interval change restarts the period now
    query = RenewalPriceQuery(plan.plan_id, sub.storefront_id, sub.channel, renewal_at, changed_at)
    price = (await catalog.renewal_prices([query]))[0]
    if price is None or price.currency_code != sub.currency_code:
        return plan.amount_minor
    return renewal_after_plan_change(
        plan.amount_minor, price.amount_minor, price.increase_notice_days, renewal_at, changed_at
    )


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
            raise PaymentPending("the plan change's payment has no outcome yet; retry with the same request_id")
        if outcome is not ChargeOutcome.SUCCEEDED:
            raise PaymentDeclined(
                f"the plan change's payment of {net} minor units was declined; the plan is unchanged",
                metadata={"decline_outcome": outcome.value},
            )
    elif preview.timing is ChangeTiming.IMMEDIATE and net < 0:
        reason = f"unused time of {sub.plan_id} on the change of {sub.id} to {new_plan.plan_id}"
        key = derive_request_id("lifecycle", "plan-change-credit", sub.id, change.request_id)
        await payments.credit(sub, -net, key, reason)
    applied = sub.change_plan(new_plan, now, current_rank=rank, timing=change.timing)
    await save(uow, sub)
    return sub, applied


async def _price_change(
    uow: LifecycleUnitOfWork, catalog: Catalog, tenant_id: str, subscription_id: str, plan_id: str, *, lock: bool
) -> tuple[Subscription, PlanTerms, int]:
    """The subscription, the new plan's terms in its storefront now, and the current plan's rank."""
    if not plan_id:
        raise InvalidArgument.field("plan_id", "is required")
    sub = await load(uow, tenant_id, subscription_id, lock=lock)
    current = await catalog.plan(sub.plan_id)
    priced = await quote(catalog, plan_id, sub.storefront_id, sub.channel, uow.clock.now())
    return sub, priced.terms, current.rank
