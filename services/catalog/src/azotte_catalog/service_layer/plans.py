"""Use cases of plans: create, change the definition, activate, retire."""

from __future__ import annotations

from azotte_catalog.domain.events import PlanCreated, PlanRetired, PlanUpdated
from azotte_catalog.domain.plan import Plan, PlanStatus, validate_plan, validate_plan_refs
from azotte_catalog.errors import PlanAlreadyExists, PlanIntervalFixed
from azotte_platform.errors import InvalidArgument

from .writer import CatalogWriter, changed_fields


def _check(w: CatalogWriter, plan: Plan) -> None:
    v = validate_plan(plan, "plan")
    plans = {**w.catalog.plan_map(), plan.id: plan}
    v.extend(validate_plan_refs(plan, w.catalog.feature_map(), plans, "plan"))
    if not plan.is_add_on and any(plan.id in other.add_on_ids for other in plans.values()):
        v.add("plan.is_add_on", f"plan {plan.id!r} is offered as an add-on by other plans")
    v.raise_if_any("plan")


async def create_plan(w: CatalogWriter, plan: Plan) -> Plan:
    """Add a plan, as a draft or directly active."""
    if plan.status is PlanStatus.RETIRED:
        raise InvalidArgument.field("plan.status", "a new plan is draft or active")
    _check(w, plan)
    if plan.id in w.catalog.plan_map():
        raise PlanAlreadyExists(f"plan.id: plan {plan.id!r} already exists", metadata={"field": "plan.id"})
    times = await w.save_plan(plan)
    w.publish(PlanCreated(plan, times))
    return plan


async def update_plan(w: CatalogWriter, plan: Plan) -> Plan:
    """Change a plan's definition (its state changes only by activate and retire)."""
    before = w.plan(plan.id)
    if plan.status is not before.status:
        raise InvalidArgument.field("plan.status", "changes only through ActivatePlan or RetirePlan")
    if before.status is not PlanStatus.DRAFT and before.interval != plan.interval:
        # NOTE: subscribers renew on the plan's interval; a sold plan keeps it (create a new plan).
        raise PlanIntervalFixed(
            f"plan.billing_interval: plan {plan.id!r} is {before.status}; its billing interval cannot change",
            metadata={"field": "plan.billing_interval"},
        )
    _check(w, plan)
    changes = changed_fields(before, plan)
    if not changes:
        return before
    times = await w.save_plan(plan)
    w.publish(PlanUpdated(plan, times, changes))
    return plan


async def activate_plan(w: CatalogWriter, plan_id: str) -> Plan:
    """Open a draft plan for sale."""
    before = w.plan(plan_id)
    plan = before.activate()
    if plan is not before:
        times = await w.save_plan(plan)
        w.publish(PlanUpdated(plan, times, ("status",)))
    return plan


async def retire_plan(w: CatalogWriter, plan_id: str) -> Plan:
    """Stop selling a plan; its subscribers keep renewing."""
    before = w.plan(plan_id)
    plan = before.retire()
    if plan is not before:
        await w.save_plan(plan)
        w.publish(PlanRetired(plan.id, w.now))
    return plan
