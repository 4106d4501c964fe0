"""Cancelling over fakes: at period end, or now with the unused time paid back through payments, once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from azotte.lifecycle.v1 import events_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.policy import CancelMode
from azotte_lifecycle.domain.refunds import cancel_refund_reason
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.errors import RefundLimitExceeded, RefundNotCovered, StoreBilledSubscription
from azotte_lifecycle.service_layer import cancellation, subscriptions
from azotte_platform.enums import Channel
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import InvalidArgument, Unavailable
from tests.unit.lifecycle.conftest import HALFWAY, TENANT, UseCases


async def cancel(
    use_cases: UseCases,
    sub: Subscription,
    mode: CancelMode = CancelMode.IMMEDIATE,
    *,
    refund: bool = True,
    request_id: str = "cancel-1",
    max_refund_minor: int | None = None,
) -> int:
    """Cancel through the use case; the refund it paid back."""
    request = cancellation.CancelRequest(sub.id, mode, refund, request_id, max_refund_minor)
    _, refund_minor = await use_cases.run(
        lambda uow: cancellation.cancel(uow, use_cases.catalog, use_cases.payments, TENANT, request)
    )
    return refund_minor


async def test_a_cancel_at_period_end_keeps_access_and_moves_no_money(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    use_cases.clock.advance(HALFWAY)
    assert await cancel(use_cases, sub, CancelMode.AT_PERIOD_END, refund=False) == 0
    stored = use_cases.stored(sub)
    assert (stored.state, stored.entitled, stored.cancel_at_period_end) == (S.ACTIVE, True, True)
    assert (use_cases.payments.refund_calls, use_cases.payments.refunds) == (0, {})
    assert use_cases.uow.published_types()[-1] == "subscription.cancel_scheduled"


async def test_an_immediate_cancel_pays_the_unused_half_back_before_it_expires(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    use_cases.clock.advance(HALFWAY)
    assert await cancel(use_cases, sub) == 500
    assert use_cases.payments.refunded() == {"ch_checkout_0": 500}
    assert {reason for _, reason in use_cases.payments.refunds.values()} == {cancel_refund_reason(sub.id)}
    assert use_cases.stored(sub).state is S.EXPIRED
    expired = use_cases.uow.published[-1]
    assert expired.type == "subscription.expired"
    assert isinstance(expired.payload, events_pb2.SubscriptionEvent)
    assert (expired.payload.refund_amount.amount_minor, expired.payload.entitled) == (500, False)


async def test_a_retry_after_a_lost_refund_answer_pays_nothing_more(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    use_cases.clock.advance(HALFWAY)
    use_cases.payments.lost_answers = 1  # the money moved, the answer did not arrive
    with pytest.raises(Unavailable):
        await cancel(use_cases, sub, request_id="first")
    assert use_cases.stored(sub).state is S.ACTIVE  # nothing was committed
    assert await cancel(use_cases, sub, request_id="second") == 500  # another attempt, another request id
    assert use_cases.payments.refunded() == {"ch_checkout_0": 500}
    assert len(use_cases.payments.refunds) == 1
    assert use_cases.stored(sub).state is S.EXPIRED


async def test_a_repeated_cancel_request_answers_the_first_answer_and_refunds_once(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    use_cases.clock.advance(HALFWAY)
    request = pb.CancelSubscriptionRequest(
        request_id="cancel-1", subscription_id=sub.id, mode=pb.CANCEL_MODE_IMMEDIATE, refund=True
    )
    first = await use_cases.call(use_cases.servicer.CancelSubscription, request)
    again = await use_cases.call(use_cases.servicer.CancelSubscription, request)
    assert first == again
    assert first.refund_amount.amount_minor == 500
    assert use_cases.payments.refund_calls == 1


async def test_where_tax_is_added_on_top_the_refund_includes_it(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1083, storefront_id="us-tx")  # $10 + 8.25 % tax
    use_cases.clock.advance(HALFWAY)
    assert await cancel(use_cases, sub) == 541  # 500 unused + 41.25 tax, rounded half up
    assert use_cases.payments.refunded() == {"ch_checkout_0": 541}


async def test_a_refund_above_the_callers_limit_cancels_and_refunds_nothing(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    use_cases.clock.advance(HALFWAY)
    with pytest.raises(RefundLimitExceeded):
        await cancel(use_cases, sub, max_refund_minor=499)
    assert (use_cases.stored(sub).state, use_cases.payments.refund_calls) == (S.ACTIVE, 0)
    assert await cancel(use_cases, sub, max_refund_minor=500) == 500


async def test_a_refund_the_period_charges_cannot_cover_cancels_nothing(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe()  # no charge is known to have paid the period
    use_cases.clock.advance(HALFWAY)
    with pytest.raises(RefundNotCovered):
        await cancel(use_cases, sub)
    assert (use_cases.stored(sub).state, use_cases.payments.refund_calls) == (S.ACTIVE, 0)


async def test_only_an_immediate_cancel_refunds(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    with pytest.raises(InvalidArgument) as refused:
        await cancel(use_cases, sub, CancelMode.AT_PERIOD_END)
    assert [v.field for v in refused.value.violations] == ["refund"]
    assert not use_cases.stored(sub).cancel_at_period_end


async def test_payments_unavailable_leaves_the_subscription_active(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe(checkout_minor=1000)
    use_cases.clock.advance(HALFWAY)
    use_cases.payments.unavailable = True
    with pytest.raises(Unavailable):
        await cancel(use_cases, sub)
    assert (use_cases.stored(sub).state, use_cases.payments.refunds) == (S.ACTIVE, {})
    assert use_cases.uow.published_types()[-1] == "subscription.activated"


async def test_a_store_billed_subscription_is_not_cancelled_here(use_cases: UseCases) -> None:
    period_end = use_cases.clock.now() + timedelta(days=30)
    new = subscriptions.NewSubscription(
        await use_cases.customer(), "basic", "us", Channel.APP_STORE, BillingOrigin.STORE_BILLED, period_end=period_end
    )
    sub = await use_cases.run(lambda uow: subscriptions.create_subscription(uow, use_cases.catalog, TENANT, new))
    use_cases.clock.advance(HALFWAY)
    with pytest.raises(StoreBilledSubscription):
        await cancel(use_cases, sub)
    assert (use_cases.stored(sub).state, use_cases.payments.refund_calls) == (S.ACTIVE, 0)
