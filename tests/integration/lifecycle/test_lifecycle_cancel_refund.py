"""An immediate cancel with refund pays the unused time back through payments, once, before it applies."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import timedelta

import grpc
import pytest

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_platform import errors
from azotte_platform.grpc.status import from_rpc_error
from tests.integration.lifecycle.conftest import Service
from tests.integration.lifecycle.test_lifecycle_year import get, new_customer, rid, travel
from tests.integration.lifecycle.test_lifecycle_year import subscribe as subscribe_to

S = subscription_state_pb2.SubscriptionState
HALFWAY = timedelta(days=15, hours=12)  # of January's 31 days


async def subscribe(
    svc: Service, plan_id: str = "basic", *, checkout_minor: int | None = 1000, storefront_id: str = "us"
) -> pb.Subscription:
    """A subscription whose first period a checkout charge paid (none when `checkout_minor` is None)."""
    charge_id = "" if checkout_minor is None else svc.payments.checkout_charge(checkout_minor)
    return await subscribe_to(svc, plan_id, initial_charge_id=charge_id, storefront_id=storefront_id)


def cancel_now(sub_id: str, request_id: str) -> pb.CancelSubscriptionRequest:
    return pb.CancelSubscriptionRequest(
        request_id=request_id, subscription_id=sub_id, mode=pb.CANCEL_MODE_IMMEDIATE, refund=True
    )


async def refused(call: Awaitable[object]) -> errors.AzotteError:
    """The typed error a call answers."""
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    return from_rpc_error(error.value)


async def refused_cancel(svc: Service, request: pb.CancelSubscriptionRequest) -> errors.AzotteError:
    return await refused(svc.stub.CancelSubscription(request, metadata=svc.metadata))


async def test_the_unused_half_of_the_checkout_charge_is_refunded_once_even_when_retried(service: Service) -> None:
    svc = service
    sub = await subscribe(svc)  # $10/month, paid by the checkout
    svc.clock.advance(HALFWAY)
    request = cancel_now(sub.id, rid())
    first = await svc.stub.CancelSubscription(request, metadata=svc.metadata)
    again = await svc.stub.CancelSubscription(request, metadata=svc.metadata)
    assert first == again
    assert first.subscription.state == S.SUBSCRIPTION_STATE_EXPIRED
    assert first.refund_amount.amount_minor == 500
    assert svc.payments.refunded() == {"ch_checkout_0": 500}
    assert svc.payments.refund_calls == 1


async def test_where_tax_is_added_on_top_the_unused_half_is_refunded_with_its_tax(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, checkout_minor=1083, storefront_id="us-tx")  # $10 + 8.25 % tax
    svc.clock.advance(HALFWAY)
    cancelled = await svc.stub.CancelSubscription(cancel_now(sub.id, rid()), metadata=svc.metadata)
    assert cancelled.refund_amount.amount_minor == 541  # 500 unused + 41.25 tax, rounded half up
    assert svc.payments.refunded() == {"ch_checkout_0": 541}


async def test_while_payments_is_unavailable_the_subscription_stays_active_until_a_retry(service: Service) -> None:
    svc = service
    sub = await subscribe(svc)
    svc.clock.advance(HALFWAY)
    request = cancel_now(sub.id, rid())
    svc.payments.unavailable = True
    assert isinstance(await refused_cancel(svc, request), errors.Unavailable)
    assert (await get(svc, sub.id)).state == S.SUBSCRIPTION_STATE_ACTIVE
    assert svc.payments.refunded() == {}
    svc.payments.unavailable = False
    retried = await svc.stub.CancelSubscription(request, metadata=svc.metadata)
    assert retried.subscription.state == S.SUBSCRIPTION_STATE_EXPIRED
    assert svc.payments.refunded() == {"ch_checkout_0": 500}


async def test_a_refund_whose_answer_was_lost_is_not_paid_again_by_the_next_attempt(service: Service) -> None:
    svc = service
    sub = await subscribe(svc)
    svc.clock.advance(HALFWAY)
    svc.payments.lost_answers = 1  # the money moved, the answer did not arrive
    assert isinstance(await refused_cancel(svc, cancel_now(sub.id, rid())), errors.Unavailable)
    assert (await get(svc, sub.id)).state == S.SUBSCRIPTION_STATE_ACTIVE
    # A new attempt, even under another request id, only pays back what is still missing: nothing.
    cancelled = await svc.stub.CancelSubscription(cancel_now(sub.id, rid()), metadata=svc.metadata)
    assert cancelled.refund_amount.amount_minor == 500
    assert svc.payments.refunded() == {"ch_checkout_0": 500}
    assert len(svc.payments.refunds) == 1


async def test_after_an_upgrade_the_upgrade_charge_pays_back_first(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, "basic")
    svc.clock.advance(HALFWAY)
    upgrade = pb.ChangeSubscriptionPlanRequest(request_id=rid(), subscription_id=sub.id, plan_id="premium")
    await svc.stub.ChangeSubscriptionPlan(upgrade, metadata=svc.metadata)  # charges 500 for the rest at $20
    cancelled = await svc.stub.CancelSubscription(cancel_now(sub.id, rid()), metadata=svc.metadata)
    assert cancelled.refund_amount.amount_minor == 1000  # half a month at $20
    upgrade_key = f"lifecycle:plan-change:{sub.id}:{upgrade.request_id}"
    assert svc.payments.refunded() == {upgrade_key: 500, "ch_checkout_0": 500}


async def test_after_a_renewal_only_the_renewal_charge_pays_back(service: Service) -> None:
    svc = service
    sub = await subscribe(svc)
    await travel(svc, timedelta(days=31))  # renewed on February 1st
    svc.clock.advance(timedelta(days=14))  # half of February
    cancelled = await svc.stub.CancelSubscription(cancel_now(sub.id, rid()), metadata=svc.metadata)
    assert cancelled.refund_amount.amount_minor == 500
    [renewal] = [key for key in svc.payments.paid if key.startswith("lifecycle:renewal:")]
    assert svc.payments.refunded() == {renewal: 500}


async def test_a_refund_the_period_charges_cannot_cover_cancels_nothing(service: Service) -> None:
    svc = service
    sub = await subscribe(svc, checkout_minor=None)  # no charge is known to have paid the period
    svc.clock.advance(HALFWAY)
    error = await refused_cancel(svc, cancel_now(sub.id, rid()))
    assert isinstance(error, errors.FailedPrecondition) and error.reason == "REFUND_NOT_COVERED"
    assert (await get(svc, sub.id)).state == S.SUBSCRIPTION_STATE_ACTIVE
    assert svc.payments.refund_calls == 0


async def test_only_an_immediate_cancel_refunds(service: Service) -> None:
    svc = service
    sub = await subscribe(svc)
    at_period_end = cancel_now(sub.id, rid())
    at_period_end.mode = pb.CANCEL_MODE_AT_PERIOD_END
    error = await refused_cancel(svc, at_period_end)
    assert isinstance(error, errors.InvalidArgument) and [v.field for v in error.violations] == ["refund"]
    assert not (await get(svc, sub.id)).cancel_at_period_end


async def test_store_billed_subscriptions_never_refund_through_payments(service: Service) -> None:
    svc = service
    store_billed = pb.CreateSubscriptionRequest(
        request_id=rid(),
        customer_id=await new_customer(svc),
        plan_id="basic",
        storefront_id="us",
        channel=channel_pb2.CHANNEL_APP_STORE,
        billing_origin=pb.BILLING_ORIGIN_STORE_BILLED,
        initial_charge_id=svc.payments.checkout_charge(1000),
    )
    store_billed.period_end_time.FromDatetime(svc.clock.now() + timedelta(days=30))
    bad = await refused(svc.stub.CreateSubscription(store_billed, metadata=svc.metadata))
    assert isinstance(bad, errors.InvalidArgument)
    assert [v.field for v in bad.violations] == ["initial_charge_id"]
    store_billed.initial_charge_id = ""
    sub = (await svc.stub.CreateSubscription(store_billed, metadata=svc.metadata)).subscription
    svc.clock.advance(HALFWAY)
    error = await refused_cancel(svc, cancel_now(sub.id, rid()))
    assert isinstance(error, errors.FailedPrecondition) and error.reason == "STORE_BILLED_SUBSCRIPTION"
    assert (svc.payments.refund_calls, svc.payments.refunds) == (0, {})


async def test_a_refund_above_the_callers_limit_cancels_and_refunds_nothing(service: Service) -> None:
    svc = service
    sub = await subscribe(svc)
    svc.clock.advance(HALFWAY)
    over = cancel_now(sub.id, rid())
    over.max_refund_minor = 499
    error = await refused_cancel(svc, over)
    assert isinstance(error, errors.PermissionDenied) and error.reason == "REFUND_LIMIT_EXCEEDED"
    assert "500" in str(error) and "499" in str(error)
    assert (await get(svc, sub.id)).state == S.SUBSCRIPTION_STATE_ACTIVE
    assert svc.payments.refund_calls == 0
    negative = cancel_now(sub.id, rid())
    negative.max_refund_minor = -1
    error = await refused_cancel(svc, negative)
    assert isinstance(error, errors.InvalidArgument) and [v.field for v in error.violations] == ["max_refund_minor"]
    within = cancel_now(sub.id, rid())
    within.max_refund_minor = 500
    cancelled = await svc.stub.CancelSubscription(within, metadata=svc.metadata)
    assert cancelled.refund_amount.amount_minor == 500
    assert svc.payments.refunded() == {"ch_checkout_0": 500}
