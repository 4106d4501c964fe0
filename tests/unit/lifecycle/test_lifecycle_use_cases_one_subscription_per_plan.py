"""CreateSubscription over fakes: one live subscription per plan and per plan family, caller-chosen ids, checks.

The fake catalog's plans basic, premium and trial are base plans of family `video`, `extra-screen` an add-on
of it, and `songs` a base plan of family `music`.
"""

from __future__ import annotations

import pytest

from azotte.common.v1 import channel_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.domain.policy import CancelMode
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.errors import AlreadySubscribed, SubscriptionExists
from azotte_lifecycle.service_layer import cancellation, subscriptions
from azotte_platform.enums import Channel
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import InvalidArgument
from tests.unit.lifecycle.conftest import TENANT, UseCases

CHOSEN_ID = "sub_" + "ab" * 16


async def subscribe(use_cases: UseCases, customer_id: str, plan_id: str, subscription_id: str = "") -> str:
    new = subscriptions.NewSubscription(
        customer_id, plan_id, "us", Channel.WEB, BillingOrigin.AZOTTE_BILLED, subscription_id=subscription_id
    )
    sub = await use_cases.run(lambda uow: subscriptions.create_subscription(uow, use_cases.catalog, TENANT, new))
    return sub.id


@pytest.mark.parametrize("second_plan", ["basic", "premium", "trial"])
async def test_a_second_live_subscription_to_the_plan_or_its_family_is_already_subscribed_and_writes_nothing(
    use_cases: UseCases, second_plan: str
) -> None:
    customer = await use_cases.customer()
    first = await subscribe(use_cases, customer, "basic")
    published = len(use_cases.uow.published)
    with pytest.raises(AlreadySubscribed) as refused:
        await subscribe(use_cases, customer, second_plan)
    assert refused.value.reason == "ALREADY_SUBSCRIBED"
    assert refused.value.metadata == {"subscription_id": first, "plan_id": "basic"}
    assert [key[1] for key in use_cases.uow.data.subscriptions] == [first]
    assert len(use_cases.uow.published) == published


async def test_add_ons_and_plans_of_other_families_may_be_held_together(use_cases: UseCases) -> None:
    customer = await use_cases.customer()
    await subscribe(use_cases, customer, "basic")
    await subscribe(use_cases, customer, "extra-screen")
    await subscribe(use_cases, customer, "extra-screen")
    await subscribe(use_cases, customer, "songs")
    held = sorted(s.plan_id for s in use_cases.uow.data.subscriptions.values())
    assert held == ["basic", "extra-screen", "extra-screen", "songs"]


async def test_another_customer_may_subscribe_to_the_same_plan(use_cases: UseCases) -> None:
    await subscribe(use_cases, await use_cases.customer(), "basic")
    await subscribe(use_cases, await use_cases.customer(), "basic")
    assert len(use_cases.uow.data.subscriptions) == 2


async def test_after_an_expired_subscription_the_customer_may_subscribe_again(use_cases: UseCases) -> None:
    customer = await use_cases.customer()
    first = await subscribe(use_cases, customer, "basic")
    cancel = cancellation.CancelRequest(first, CancelMode.IMMEDIATE, False, "cancel-1")
    await use_cases.run(lambda uow: cancellation.cancel(uow, use_cases.catalog, use_cases.payments, TENANT, cancel))
    assert use_cases.uow.stored(TENANT, first).state is S.EXPIRED
    again = await subscribe(use_cases, customer, "basic")
    assert use_cases.uow.stored(TENANT, again).state is S.ACTIVE


async def test_a_caller_chosen_id_names_the_subscription(use_cases: UseCases) -> None:
    made = await subscribe(use_cases, await use_cases.customer(), "basic", CHOSEN_ID)
    assert made == CHOSEN_ID
    assert use_cases.uow.stored(TENANT, CHOSEN_ID).plan_id == "basic"


@pytest.mark.parametrize("chosen", ["sub_1", "SUB_" + "ab" * 16, "sub_" + "AB" * 16, "cus_" + "ab" * 16])
async def test_a_malformed_chosen_id_is_refused_naming_the_field(use_cases: UseCases, chosen: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await subscribe(use_cases, await use_cases.customer(), "basic", chosen)
    assert [v.field for v in refused.value.violations] == ["subscription_id"]
    assert use_cases.uow.data.subscriptions == {}


async def test_a_chosen_id_already_taken_is_subscription_exists(use_cases: UseCases) -> None:
    await subscribe(use_cases, await use_cases.customer(), "basic", CHOSEN_ID)
    with pytest.raises(SubscriptionExists) as refused:
        await subscribe(use_cases, await use_cases.customer(), "basic", CHOSEN_ID)
    assert len(use_cases.uow.data.subscriptions) == 1
    # the taken id is named: a checkout retried after a crash recognizes its own subscription
    assert refused.value.metadata == {"subscription_id": CHOSEN_ID}


def create_request(customer_id: str, *, validate_only: bool, plan_id: str = "basic") -> pb.CreateSubscriptionRequest:
    return pb.CreateSubscriptionRequest(
        request_id="create-1",
        customer_id=customer_id,
        plan_id=plan_id,
        storefront_id="us",
        channel=channel_pb2.CHANNEL_WEB,
        billing_origin=pb.BILLING_ORIGIN_AZOTTE_BILLED,
        subscription_id=CHOSEN_ID,
        validate_only=validate_only,
    )


async def test_validate_only_answers_the_subscription_it_would_make_and_writes_nothing(use_cases: UseCases) -> None:
    customer = await use_cases.customer()
    checked = await use_cases.call(use_cases.servicer.CreateSubscription, create_request(customer, validate_only=True))
    assert (checked.subscription.id, checked.subscription.plan_id) == (CHOSEN_ID, "basic")
    assert use_cases.uow.data.subscriptions == {}
    assert use_cases.uow.published == []
    # NOTE: the check kept no answer under the request id: the create under it still creates.
    made = await use_cases.call(use_cases.servicer.CreateSubscription, create_request(customer, validate_only=False))
    assert made.subscription.id == CHOSEN_ID
    assert use_cases.uow.stored(TENANT, CHOSEN_ID).state is S.ACTIVE


async def test_validate_only_refuses_a_second_subscription_of_the_family(use_cases: UseCases) -> None:
    customer = await use_cases.customer()
    await subscribe(use_cases, customer, "premium")
    with pytest.raises(AlreadySubscribed):
        await use_cases.call(use_cases.servicer.CreateSubscription, create_request(customer, validate_only=True))
