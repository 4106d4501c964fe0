"""Use cases of plans: create, change the definition, activate, retire."""

from __future__ import annotations

from azotte.catalog.v1 import events_pb2
from azotte_catalog.adapters.proto import PLAN_FIELDS, plan_to_proto, timestamp
from azotte_catalog.domain.plan import Plan, PlanStatus, validate_plan, validate_plan_refs
from azotte_catalog.domain.validation import Violations
from azotte_platform.errors import AlreadyExists, FailedPrecondition

from .writer import CatalogWriter, changed_fields, raise_invalid


def _check(w: CatalogWriter, plan: Plan) -> None:
    v = validate_plan(plan, "plan")
    plans = {**w.catalog.plan_map(), plan.id: plan}
    v.extend(validate_plan_refs(plan, w.catalog.feature_map(), plans, "plan"))
    if not plan.is_add_on and any(plan.id in other.add_on_ids for other in plans.values()):
        v.add("plan.add_on", f"plan {plan.id!r} is offered as an add-on by other plans")
    raise_invalid(v, "plan", PLAN_FIELDS)


async def create_plan(w: CatalogWriter, plan: Plan) -> Plan:
    """Add a plan, as a draft or directly active."""
    if plan.status is PlanStatus.RETIRED:
        raise_invalid(_violation("plan.status", "a new plan is draft or active"), "plan", PLAN_FIELDS)
    _check(w, plan)
    if plan.id in w.catalog.plan_map():
        raise AlreadyExists(
            f"plan.id: plan {plan.id!r} already exists", reason="PLAN_ALREADY_EXISTS", metadata={"field": "plan.id"}
        )
    times = await w.save_plan(plan)
    w.record("plan.created", events_pb2.PlanCreated(plan=plan_to_proto(plan, times)))
    return plan


async def update_plan(w: CatalogWriter, plan: Plan) -> Plan:
    """Change a plan's definition (its state changes only by activate and retire)."""
    before = w.plan(plan.id)
    if plan.status is not before.status:
        raise_invalid(_violation("plan.status", "changes only through ActivatePlan or RetirePlan"), "plan", PLAN_FIELDS)
    if before.status is not PlanStatus.DRAFT and before.interval != plan.interval:
        # NOTE: subscribers renew on the plan's interval; a sold plan keeps it (create a new plan).
        raise FailedPrecondition(
            f"plan {plan.id!r} is {before.status}; its billing interval cannot change", reason="PLAN_INTERVAL_FIXED"
        )
    _check(w, plan)
    changes = changed_fields(before, plan, PLAN_FIELDS)
    if not changes:
        return before
    times = await w.save_plan(plan)
    w.record("plan.updated", events_pb2.PlanUpdated(plan=plan_to_proto(plan, times), changed_fields=changes))
    return plan


async def activate_plan(w: CatalogWriter, plan_id: str) -> Plan:
    """Open a draft plan for sale."""
    before = w.plan(plan_id)
    plan = before.activate()
    if plan is not before:
        times = await w.save_plan(plan)
        w.record("plan.updated", events_pb2.PlanUpdated(plan=plan_to_proto(plan, times), changed_fields=["state"]))
    return plan


async def retire_plan(w: CatalogWriter, plan_id: str) -> Plan:
    """Stop selling a plan; its subscribers keep renewing."""
    before = w.plan(plan_id)
    plan = before.retire()
    if plan is not before:
        await w.save_plan(plan)
        w.record("plan.retired", events_pb2.PlanRetired(plan_id=plan.id, retire_time=timestamp(w.now)))
    return plan


def _violation(field: str, description: str) -> Violations:
    v = Violations()
    v.add(field, description)
    return v
