"""A repeating or forever promotion discount carried by a subscription: each renewal it lasts is charged less,
the charge and its event carry the discount, the upcoming charge shows it, and it is counted down only by a
renewal that was paid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.protobuf.message import Message

from azotte.common.v1.money_pb2 import Money
from azotte.lifecycle.v1 import events_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.adapters.proto import channel_to_pb
from azotte_lifecycle.domain.discounts import RecurringDiscount
from azotte_lifecycle.domain.dunning import ChargeOutcome, renewal_charge_key
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

RENEWALS = [T0 + timedelta(days=days) for days in (30, 61, 91, 122)]  # May 1, June 1, July 1, August 1


def quarter_off(renewals_left: int | None) -> pb.RecurringDiscount:
    return pb.RecurringDiscount(
        promotion_id="prm_1", redemption_id="rdm_1", percent_basis_points=2_500, renewals_left=renewals_left
    )


async def subscribe(
    use_cases: UseCases, discount: pb.RecurringDiscount, origin: int = pb.BILLING_ORIGIN_AZOTTE_BILLED
) -> pb.Subscription:
    """A checkout's subscription to basic (1000 USD a month) whose first period was paid with the discount."""
    azotte_billed = origin == pb.BILLING_ORIGIN_AZOTTE_BILLED
    request = pb.CreateSubscriptionRequest(
        request_id=f"create-{len(use_cases.uow.data.customers)}",
        customer_id=await use_cases.customer(),
        plan_id="basic",
        storefront_id="us",
        channel=channel_to_pb(Channel.WEB),
        billing_origin=origin,  # type: ignore[arg-type]
        initial_charge_id=use_cases.payments.checkout_charge(750) if azotte_billed else "",
        discount=discount,
    )
    return (await use_cases.call(use_cases.servicer.CreateSubscription, request)).subscription


def renewed(payload: Message) -> events_pb2.SubscriptionEvent:
    assert isinstance(payload, events_pb2.SubscriptionEvent)
    return payload


async def renew_at(use_cases: UseCases, when: object) -> None:
    use_cases.clock.set(when)  # type: ignore[arg-type]
    await use_cases.scheduler.sweep()


def test_a_percent_off_rounds_half_up_and_an_amount_off_never_passes_the_price() -> None:
    percent = RecurringDiscount("prm_1", "rdm_1", percent_basis_points=3_333)
    assert (percent.off(1_000), percent.off(15)) == (333, 5)  # 333.3 -> 333, 4.9995 -> 5
    amount = RecurringDiscount("prm_1", "rdm_1", amount_off_minor=300, currency_code="USD")
    assert (amount.off(1_000), amount.off(200)) == (300, 200)


def test_a_repeating_discount_counts_down_and_a_forever_one_never_ends() -> None:
    two = RecurringDiscount("prm_1", "rdm_1", percent_basis_points=1_000, renewals_left=2)
    once_more = two.after_renewal()
    assert once_more is not None and once_more.renewals_left == 1
    assert once_more.after_renewal() is None
    forever = RecurringDiscount("prm_1", "rdm_1", percent_basis_points=1_000)
    assert forever.after_renewal() == forever


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"percent_basis_points": 0}, "discount"),
        ({"percent_basis_points": 1_000, "amount_off_minor": 100}, "discount"),
        ({"percent_basis_points": 10_001}, "discount.percent_basis_points"),
        ({"amount_off_minor": -5, "percent_basis_points": 0}, "discount.amount_off"),
        ({"percent_basis_points": 1_000, "renewals_left": 0}, "discount.renewals_left"),
        ({"percent_basis_points": 1_000, "redemption_id": ""}, "discount.redemption_id"),
    ],
)
def test_a_discount_that_makes_no_sense_names_its_field(fields: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"promotion_id": "prm_1", "redemption_id": "rdm_1", **fields}
    with pytest.raises(InvalidArgument) as refused:
        RecurringDiscount(**arguments)  # type: ignore[arg-type]
    assert refused.value.violations[0].field == field


async def test_a_discount_for_two_renewals_discounts_exactly_two_and_its_events_carry_it(use_cases: UseCases) -> None:
    sub = await subscribe(use_cases, quarter_off(2))
    assert (sub.discount.percent_basis_points, sub.discount.renewals_left) == (2_500, 2)
    for when in RENEWALS[:3]:
        await renew_at(use_cases, when)
    keys = [renewal_charge_key(sub.id, period, 0) for period in (2, 3, 4)]
    assert [use_cases.payments.amounts[key] for key in keys] == [750, 750, 1_000]
    renewals = [renewed(e.payload) for e in use_cases.uow.published if e.type == "subscription.renewed"]
    assert [r.discount.amount_minor for r in renewals] == [250, 250, 0]
    assert [r.subscription.discount.renewals_left for r in renewals[:2]] == [1, 0]
    assert not renewals[1].subscription.HasField("discount")  # used up by the second renewal
    assert use_cases.uow.stored(TENANT, sub.id).discount is None


async def test_a_declined_renewal_keeps_the_discount_for_its_retry(use_cases: UseCases) -> None:
    sub = await subscribe(use_cases, quarter_off(1))
    use_cases.payments.script = [ChargeOutcome.SOFT_DECLINE]
    await renew_at(use_cases, RENEWALS[0])
    await renew_at(use_cases, RENEWALS[0] + timedelta(days=1))  # the retry succeeds
    await renew_at(use_cases, RENEWALS[1])
    assert [
        use_cases.payments.amounts[renewal_charge_key(sub.id, period, attempt)]
        for period, attempt in [
            (2, 0),
            (2, 1),
            (3, 0),
        ]
    ] == [750, 750, 1_000]


async def test_a_forever_discount_discounts_every_renewal_and_the_upcoming_charge(use_cases: UseCases) -> None:
    amount_off = pb.RecurringDiscount(
        promotion_id="prm_1", redemption_id="rdm_1", amount_off=Money(currency_code="USD", amount_minor=300)
    )
    sub = await subscribe(use_cases, amount_off)
    upcoming = await use_cases.call(
        use_cases.servicer.GetUpcomingCharge, pb.GetUpcomingChargeRequest(subscription_id=sub.id)
    )
    assert (upcoming.amount.amount_minor, upcoming.discount.amount_minor, upcoming.gross.amount_minor) == (
        700,
        300,
        700,
    )
    for when in RENEWALS:
        await renew_at(use_cases, when)
    assert [use_cases.payments.amounts[renewal_charge_key(sub.id, p, 0)] for p in (2, 3, 4, 5)] == [700] * 4


async def test_a_discount_in_another_currency_or_on_a_store_billed_subscription_is_refused(
    use_cases: UseCases,
) -> None:
    euros = pb.RecurringDiscount(
        promotion_id="prm_1", redemption_id="rdm_1", amount_off=Money(currency_code="EUR", amount_minor=300)
    )
    with pytest.raises(InvalidArgument) as refused:
        await subscribe(use_cases, euros)
    assert refused.value.violations[0].field == "discount.amount_off"
    with pytest.raises(InvalidArgument) as store:
        await subscribe(use_cases, quarter_off(None), pb.BILLING_ORIGIN_STORE_BILLED)
    assert store.value.violations[0].field == "discount"
