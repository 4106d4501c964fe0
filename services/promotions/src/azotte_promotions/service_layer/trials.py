"""Fair trials: record each trial taken (from lifecycle's events) and judge whether a customer may start one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain.events import TrialBlocked
from azotte_promotions.domain.trials import Trial, TrialEligibility, judge
from azotte_promotions.ports import People, PromotionsUnitOfWork


@dataclass(frozen=True, slots=True)
class TrialStarted:
    """A subscription that started with a free trial, as lifecycle reported it."""

    subscription_id: str
    customer_id: str
    plan_id: str
    channel: Channel
    started_at: datetime


async def record_trial(uow: PromotionsUnitOfWork, people: People, tenant_id: str, started: TrialStarted) -> bool:
    """Record the trial with its taker's markers now (a card stored at checkout is on file by then); once
    per subscription, so a redelivered or repeated event records nothing more."""
    # NOTE: the product line is the plan's family when the trial started; a later move of the plan to
    # another family does not move the trials taken.
    trial = Trial(
        tenant_id=tenant_id,
        subscription_id=started.subscription_id,
        customer_id=started.customer_id,
        plan_id=started.plan_id,
        product_line=await people.product_line(started.plan_id),
        channel=started.channel,
        started_at=started.started_at,
        markers=await people.markers(started.customer_id),
    )
    return await uow.trials.add(trial)


async def check_eligibility(
    uow: PromotionsUnitOfWork,
    people: People,
    tenant_id: str,
    customer_id: str,
    plan_id: str,
    subscription_id: str = "",
) -> TrialEligibility:
    """Whether the customer may start a trial of the plan's product line, or the earlier trial that refuses it;
    the trial of `subscription_id` itself (a retried checkout that made it) does not count."""
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    if not plan_id:
        raise InvalidArgument.field("plan_id", "is required")
    product_line = await people.product_line(plan_id)
    markers = await people.markers(customer_id)
    matches = await uow.trials.matching(tenant_id, product_line, markers)
    return judge(
        product_line, [m for m in matches if m.trial.subscription_id != subscription_id or not subscription_id]
    )


async def check_checkout_eligibility(
    uow: PromotionsUnitOfWork,
    people: People,
    tenant_id: str,
    customer_id: str,
    plan_id: str,
    subscription_id: str,
    request_id: str,
) -> TrialEligibility:
    """`check_eligibility` for the checkout `request_id`: a refusal is a trial blocked by eligibility."""
    eligibility = await check_eligibility(uow, people, tenant_id, customer_id, plan_id, subscription_id)
    if not eligibility.eligible:
        uow.emit(tenant_id, TrialBlocked(customer_id, plan_id, request_id, eligibility))
    return eligibility
