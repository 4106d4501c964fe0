"""A store purchase of a product line the customer already holds live on another channel: flagged
(`subscription.duplicate_across_channels`, naming both subscriptions and channels) when the tenant's policy says
`flag`, per plan too; never refused; nothing flagged for another product line, the same channel, an ended
subscription, or under the default `allow`."""

from __future__ import annotations

from datetime import timedelta
from typing import cast

import pytest

from azotte.lifecycle.v1 import events_pb2
from azotte_lifecycle.adapters.proto import policy_from_pb, policy_to_pb
from azotte_lifecycle.adapters.repositories.policies import policy_from_json, policy_to_json
from azotte_lifecycle.domain.channel_events import ChannelEventKind
from azotte_lifecycle.domain.customer import ChannelIdentity, IdentityKind
from azotte_lifecycle.domain.policy import (
    CancelMode,
    DuplicateAcrossChannels,
    LifecyclePolicy,
    PolicyOverride,
    TenantLifecyclePolicy,
)
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.service_layer import channel_events
from azotte_lifecycle.service_layer.cancellation import CancelRequest, cancel
from azotte_platform.enums import Channel
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

DUPLICATE = "subscription.duplicate_across_channels"
FLAG = DuplicateAcrossChannels.FLAG


def set_policy(use_cases: UseCases, policy: TenantLifecyclePolicy) -> None:
    use_cases.uow.data.policies[TENANT] = policy


async def store_purchase(
    use_cases: UseCases, customer_id: str, plan_id: str, channel: Channel = Channel.APP_STORE
) -> Subscription:
    value = f"{channel}-{plan_id}-{len(use_cases.uow.data.subscriptions)}"
    incoming = channel_events.IncomingChannelEvent(
        event_id=f"buy-{value}",
        kind=ChannelEventKind.PURCHASED,
        occurred_at=T0,
        channel=channel,
        identity=ChannelIdentity(IdentityKind.APP_STORE_ORIGINAL_TRANSACTION_ID, value),
        period_end=T0 + timedelta(days=30),
        plan_id=plan_id,
        customer_id=customer_id,
        storefront_id="us",
    )
    sub, _ = await use_cases.run(lambda uow: channel_events.apply(uow, use_cases.catalog, TENANT, incoming))
    return sub


def flagged(use_cases: UseCases) -> list[events_pb2.SubscriptionEvent]:
    payloads = [event.payload for event in use_cases.uow.published if event.type == DUPLICATE]
    assert all(isinstance(payload, events_pb2.SubscriptionEvent) for payload in payloads)
    return cast(list[events_pb2.SubscriptionEvent], payloads)


async def test_a_store_purchase_of_a_product_line_held_on_the_web_is_flagged_with_both_subscriptions(
    use_cases: UseCases,
) -> None:
    set_policy(use_cases, TenantLifecyclePolicy(LifecyclePolicy(duplicate_across_channels=FLAG)))
    web = await use_cases.subscribe("basic")
    store = await store_purchase(use_cases, web.customer_id, "premium")  # both of the `video` line

    assert use_cases.stored(store).state.entitled  # the store took the money: nothing refuses it
    [event] = flagged(use_cases)
    assert (event.subscription.id, event.duplicate_of.id) == (store.id, web.id)
    assert (event.subscription.channel, event.duplicate_of.channel) == (2, 1)  # APP_STORE, WEB
    assert (event.cause, event.cause_ref) == ("channel_event", f"buy-{Channel.APP_STORE}-premium-1")


@pytest.mark.parametrize(
    ("plan_id", "channel"),
    [("songs", Channel.APP_STORE), ("premium", Channel.WEB)],
    ids=["another product line", "the same channel"],
)
async def test_nothing_is_flagged_for_another_product_line_or_the_same_channel(
    use_cases: UseCases, plan_id: str, channel: Channel
) -> None:
    set_policy(use_cases, TenantLifecyclePolicy(LifecyclePolicy(duplicate_across_channels=FLAG)))
    web = await use_cases.subscribe("basic")
    await store_purchase(use_cases, web.customer_id, plan_id, channel)
    assert flagged(use_cases) == []


async def test_nothing_is_flagged_after_the_other_subscription_ended_or_under_the_default_policy(
    use_cases: UseCases,
) -> None:
    web = await use_cases.subscribe("basic")
    await store_purchase(use_cases, web.customer_id, "premium")
    assert LifecyclePolicy().duplicate_across_channels is DuplicateAcrossChannels.ALLOW
    assert flagged(use_cases) == []

    set_policy(use_cases, TenantLifecyclePolicy(LifecyclePolicy(duplicate_across_channels=FLAG)))
    ended = await use_cases.subscribe("songs")
    request = CancelRequest(ended.id, CancelMode.IMMEDIATE, refund=False, request_id="cancel-1")
    await use_cases.run(lambda uow: cancel(uow, use_cases.catalog, use_cases.payments, TENANT, request))
    await store_purchase(use_cases, ended.customer_id, "songs")
    assert flagged(use_cases) == []


async def test_a_plans_override_decides_for_purchases_of_that_plan(use_cases: UseCases) -> None:
    overrides = {"premium": PolicyOverride(duplicate_across_channels=FLAG)}
    set_policy(use_cases, TenantLifecyclePolicy(LifecyclePolicy(), overrides))
    web = await use_cases.subscribe("basic")
    await store_purchase(use_cases, web.customer_id, "trial", Channel.GOOGLE_PLAY)  # allowed: no event
    assert flagged(use_cases) == []
    other = await use_cases.subscribe("basic")
    await store_purchase(use_cases, other.customer_id, "premium", Channel.GOOGLE_PLAY)
    assert [e.duplicate_of.id for e in flagged(use_cases)] == [other.id]


def test_the_rule_is_stored_and_read_back_with_the_policy() -> None:
    overrides = {"premium": PolicyOverride(duplicate_across_channels=DuplicateAcrossChannels.ALLOW)}
    policy = TenantLifecyclePolicy(LifecyclePolicy(duplicate_across_channels=FLAG), overrides)
    assert policy_from_json(policy_to_json(policy)) == policy
    assert policy_from_pb(policy_to_pb(policy), TenantLifecyclePolicy(), []) == policy
    assert policy.for_plan("premium").duplicate_across_channels is DuplicateAcrossChannels.ALLOW
