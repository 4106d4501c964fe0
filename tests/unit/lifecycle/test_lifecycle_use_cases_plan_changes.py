"""Plan changes over fakes: an immediate change settles its proration through payments first, once."""

from __future__ import annotations

import pytest

from azotte.lifecycle.v1 import events_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.subscription import ChangeTiming, PlanChangePreview, Subscription
from azotte_lifecycle.errors import PaymentPending
from azotte_lifecycle.service_layer import plan_changes
from azotte_platform.errors import FailedPrecondition, PaymentDeclined
from tests.unit.lifecycle.conftest import HALFWAY, TENANT, UseCases


async def change(
    use_cases: UseCases, sub: Subscription, plan_id: str, timing: ChangeTiming | None = None, request_id: str = "c-1"
) -> PlanChangePreview:
    request = plan_changes.PlanChangeRequest(sub.id, plan_id, timing, request_id)
    _, applied = await use_cases.run(
        lambda uow: plan_changes.change_plan(uow, use_cases.catalog, use_cases.payments, TENANT, request)
    )
    return applied


async def test_an_upgrade_charges_the_net_proration_then_changes_the_plan(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")  # $10/month
    use_cases.clock.advance(HALFWAY)
    applied = await change(use_cases, sub, "premium")  # $20/month: credit 500, charge 1000
    assert (applied.proration.credit_minor, applied.proration.charge_minor, applied.proration.net_minor) == (
        500,
        1000,
        500,
    )
    key = f"lifecycle:plan-change:{sub.id}:c-1"
    assert (use_cases.payments.amounts, use_cases.payments.tenant_of) == ({key: 500}, {key: TENANT})
    stored = use_cases.stored(sub)
    assert (stored.plan_id, stored.renewal_amount_minor, stored.current_period_amount_minor) == ("premium", 2000, 2000)
    changed = use_cases.uow.published[-1]
    assert changed.type == "subscription.plan_changed"
    assert isinstance(changed.payload, events_pb2.SubscriptionEvent)
    assert (changed.payload.previous_plan_id, changed.payload.proration.net.amount_minor) == ("basic", 500)


async def test_a_repeated_change_request_charges_once(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.advance(HALFWAY)
    request = pb.ChangeSubscriptionPlanRequest(request_id="c-1", subscription_id=sub.id, plan_id="premium")
    first = await use_cases.call(use_cases.servicer.ChangeSubscriptionPlan, request)
    again = await use_cases.call(use_cases.servicer.ChangeSubscriptionPlan, request)
    assert first == again
    assert first.plan_change.proration.net.amount_minor == 500
    assert sum(use_cases.payments.calls.values()) == 1


async def test_a_declined_upgrade_leaves_the_plan_as_it_was(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.advance(HALFWAY)
    use_cases.payments.script.append(ChargeOutcome.HARD_DECLINE)
    with pytest.raises(PaymentDeclined) as declined:
        await change(use_cases, sub, "premium")
    assert isinstance(declined.value, FailedPrecondition)
    assert declined.value.metadata == {"decline_outcome": "hard_decline"}
    assert (use_cases.stored(sub).plan_id, use_cases.stored(sub).renewal_amount_minor) == ("basic", 1000)
    assert "subscription.plan_changed" not in use_cases.uow.published_types()


async def test_an_upgrade_whose_payment_is_pending_waits_for_a_retry(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.advance(HALFWAY)
    use_cases.payments.script.append(None)  # the charge's outcome is not known yet
    with pytest.raises(PaymentPending):
        await change(use_cases, sub, "premium")
    assert use_cases.stored(sub).plan_id == "basic"


async def test_an_immediate_downgrade_credits_the_unused_difference(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("premium")  # $20/month
    use_cases.clock.advance(HALFWAY)
    applied = await change(use_cases, sub, "basic", ChangeTiming.IMMEDIATE)  # credit 1000, charge 500
    assert applied.proration.net_minor == -500
    assert use_cases.payments.credits == {f"lifecycle:plan-change-credit:{sub.id}:c-1": 500}
    assert use_cases.payments.calls == {}
    assert use_cases.stored(sub).plan_id == "basic"


async def test_a_downgrade_waits_for_the_period_end_and_moves_no_money(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("premium")
    use_cases.clock.advance(HALFWAY)
    applied = await change(use_cases, sub, "basic")
    assert applied.timing is ChangeTiming.PERIOD_END
    stored = use_cases.stored(sub)
    assert stored.plan_id == "premium"
    assert stored.pending_plan_change is not None
    assert (stored.pending_plan_change.plan_id, stored.pending_plan_change.effective_at) == (
        "basic",
        stored.current_period_end,
    )
    assert (use_cases.payments.calls, use_cases.payments.credits) == ({}, {})
    assert use_cases.uow.published_types()[-1] == "subscription.plan_change_scheduled"


async def test_a_preview_changes_and_charges_nothing(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.clock.advance(HALFWAY)
    published = len(use_cases.uow.published)
    _, preview = await use_cases.run(
        lambda uow: plan_changes.preview_plan_change(uow, use_cases.catalog, TENANT, sub.id, "premium", None)
    )
    assert (preview.timing, preview.proration.net_minor) == (ChangeTiming.IMMEDIATE, 500)
    assert (use_cases.stored(sub).plan_id, use_cases.payments.calls) == ("basic", {})
    assert len(use_cases.uow.published) == published
