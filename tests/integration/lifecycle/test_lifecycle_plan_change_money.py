"""An immediate plan change settles its proration through payments: charged once, or credited."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.dunning import ChargeOutcome
from tests.integration.lifecycle.conftest import Service
from tests.integration.lifecycle.test_lifecycle_year import get, rid, subscribe

HALFWAY = timedelta(days=15, hours=12)  # of January's 31 days


def change(
    sub_id: str,
    plan_id: str,
    request_id: str,
    timing: pb.PlanChangeTiming.ValueType = pb.PLAN_CHANGE_TIMING_UNSPECIFIED,
) -> pb.ChangeSubscriptionPlanRequest:
    return pb.ChangeSubscriptionPlanRequest(
        request_id=request_id, subscription_id=sub_id, plan_id=plan_id, timing=timing
    )


def plan_change_keys(svc: Service) -> dict[str, int]:
    return {key: amount for key, amount in svc.payments.amounts.items() if ":plan-change:" in key}


async def test_an_upgrade_charges_the_net_proration_once_even_when_retried(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, "basic")  # $10/month
    svc.clock.advance(HALFWAY)
    request = change(sub.id, "premium", rid())  # $20/month: credit 500, charge 1000
    first = await svc.stub.ChangeSubscriptionPlan(request, metadata=svc.metadata)
    again = await svc.stub.ChangeSubscriptionPlan(request, metadata=svc.metadata)
    assert first == again
    assert first.plan_change.proration.net.amount_minor == 500
    assert list(plan_change_keys(svc).values()) == [500]
    assert sum(svc.payments.charged.values()) == 1
    assert (await get(svc, sub.id)).plan_id == "premium"


async def test_a_declined_upgrade_leaves_the_plan_as_it_was(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, "basic")
    svc.clock.advance(HALFWAY)
    svc.payments.script.append(ChargeOutcome.HARD_DECLINE)
    with pytest.raises(grpc.aio.AioRpcError) as declined:
        await svc.stub.ChangeSubscriptionPlan(change(sub.id, "premium", rid()), metadata=svc.metadata)
    assert declined.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "declined" in (declined.value.details() or "")
    current = await get(svc, sub.id)
    assert (current.plan_id, current.renewal_price.amount_minor) == ("basic", 1000)


@pytest.mark.parametrize("request_id", ["short", "r" * 128])
async def test_an_immediate_downgrade_credits_the_unused_difference(service: Service, request_id: str) -> None:
    svc = service
    sub = await subscribe(svc, "premium")  # $20/month
    svc.clock.advance(HALFWAY)
    request = change(sub.id, "basic", request_id, timing=pb.PLAN_CHANGE_TIMING_IMMEDIATE)  # credit 1000, charge 500
    changed = await svc.stub.ChangeSubscriptionPlan(request, metadata=svc.metadata)
    assert changed.plan_change.proration.net.amount_minor == -500
    assert list(svc.payments.credits.values()) == [500]
    assert plan_change_keys(svc) == {}
    assert (await get(svc, sub.id)).plan_id == "basic"
