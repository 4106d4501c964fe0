"""Customer search, subscription lists and history by filter and order, and the versioned lifecycle policy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from google.protobuf import duration_pb2, field_mask_pb2

from azotte.common.v1 import subscription_state_pb2 as states
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte_lifecycle.adapters.proto import policy_from_pb, policy_to_pb
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.policy import LifecyclePolicy, PolicyOverride, TenantLifecyclePolicy
from azotte_lifecycle.errors import PolicyVersionMismatch
from azotte_lifecycle.service_layer import queries
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument, NotFound
from azotte_platform.paging import encode_page_token
from tests.unit.lifecycle.conftest import T0, TENANT, UseCases

MAY_1 = T0 + timedelta(days=30)
ACTOR = "api_key:key_1"
M = TypeVar("M")
R = TypeVar("R")


async def as_key(rpc: Callable[[M, Any], Awaitable[R]], request: M, tenant: str = TENANT) -> R:
    """Call a servicer method as the gateway does for an API key of `tenant`."""
    with tenant_scope(tenant, ACTOR):
        return await rpc(request, None)


def days(count: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=count * 86_400)


async def customers(use_cases: UseCases) -> list[pb.Customer]:
    made = []
    for n, email in enumerate(["zoe@example.com", "ann@example.com", "bob@example.com"]):
        use_cases.clock.advance(timedelta(minutes=1))
        request = pb.CreateCustomerRequest(
            request_id=f"c{n}", external_id=f"ext-{n}", email=email, country_code="FR" if n else "US"
        )
        made.append((await as_key(use_cases.servicer.CreateCustomer, request)).customer)
    play = pb.ChannelIdentity(kind=pb.CHANNEL_IDENTITY_KIND_GOOGLE_PLAY_PURCHASE_TOKEN, value="tok-9")
    await as_key(
        use_cases.servicer.LinkChannelIdentity,
        pb.LinkChannelIdentityRequest(request_id="l1", customer_id=made[1].id, identity=play),
    )
    return made


async def listed(use_cases: UseCases, **fields: Any) -> tuple[list[str], str]:
    answer = await as_key(use_cases.servicer.ListCustomers, pb.ListCustomersRequest(**fields))
    return [c.external_id for c in answer.customers], answer.next_page_token


async def test_customers_are_found_by_email_external_id_and_channel_identity(use_cases: UseCases) -> None:
    await customers(use_cases)
    assert (await listed(use_cases, filter='email = "ANN@example.com"'))[0] == ["ext-1"]
    assert (await listed(use_cases, filter="external_id = ext-2"))[0] == ["ext-2"]
    by_identity = 'identity.kind = GOOGLE_PLAY_PURCHASE_TOKEN AND identity.value = "tok-9"'
    assert (await listed(use_cases, filter=by_identity))[0] == ["ext-1"]
    assert (await listed(use_cases, filter="identity.value = tok-unknown"))[0] == []
    assert (await listed(use_cases, filter="country_code = fr"))[0] == ["ext-1", "ext-2"]
    after_first = f'create_time > "{(T0 + timedelta(minutes=1)).isoformat()}"'
    assert (await listed(use_cases, filter=after_first))[0] == ["ext-1", "ext-2"]


async def test_customers_are_ordered_and_paged_with_tokens_bound_to_the_query(use_cases: UseCases) -> None:
    await customers(use_cases)
    assert (await listed(use_cases))[0] == ["ext-0", "ext-1", "ext-2"]
    assert (await listed(use_cases, order_by="create_time desc"))[0] == ["ext-2", "ext-1", "ext-0"]
    assert (await listed(use_cases, order_by="email"))[0] == ["ext-1", "ext-2", "ext-0"]
    first, token = await listed(use_cases, order_by="email desc", page_size=2)
    rest, last = await listed(use_cases, order_by="email desc", page_size=2, page_token=token)
    assert (first, rest, last) == (["ext-0", "ext-2"], ["ext-1"], "")
    with pytest.raises(InvalidArgument) as moved:
        await listed(use_cases, order_by="email", page_size=2, page_token=token)
    assert moved.value.violations[0].field == "page_token"


@pytest.mark.parametrize(
    ("filter_", "order_by", "field"),
    [
        ("name = ann", "", "filter"),
        ("email > a", "", "filter"),
        ("identity.kind = FAX", "", "filter"),
        ('create_time > "yesterday"', "", "filter"),
        ("", "country_code", "order_by"),
        ("", "email, external_id", "order_by"),
    ],
)
async def test_a_bad_filter_or_order_names_its_field(
    use_cases: UseCases, filter_: str, order_by: str, field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await listed(use_cases, filter=filter_, order_by=order_by)
    assert refused.value.violations[0].field == field


async def test_subscriptions_are_filtered_by_state_and_plan_and_ordered(use_cases: UseCases) -> None:
    basic = await use_cases.subscribe("basic")
    use_cases.clock.advance(timedelta(days=2))
    premium = await use_cases.subscribe("premium")

    async def ids(**fields: Any) -> list[str]:
        answer = await as_key(use_cases.servicer.ListSubscriptions, pb.ListSubscriptionsRequest(**fields))
        return [s.id for s in answer.subscriptions]

    assert await ids(filter="state = ACTIVE AND plan_id = premium") == [premium.id]
    assert await ids(filter="state != SUBSCRIPTION_STATE_ACTIVE") == []
    assert await ids(order_by="current_period_end_time desc") == [premium.id, basic.id]
    assert await ids(filter="plan_id = basic", state=states.SUBSCRIPTION_STATE_ACTIVE) == [basic.id]
    assert await ids(filter="state = ACTIVE", state=states.SUBSCRIPTION_STATE_PAST_DUE) == []
    with pytest.raises(InvalidArgument) as refused:
        await ids(filter="state = SLEEPING")
    assert refused.value.violations[0].field == "filter"


async def test_the_history_names_each_transitions_cause_and_actor(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    use_cases.payments.script = [ChargeOutcome.SOFT_DECLINE]
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    await as_key(
        use_cases.servicer.CancelSubscription,
        pb.CancelSubscriptionRequest(request_id="cancel-1", subscription_id=sub.id, mode=pb.CANCEL_MODE_AT_PERIOD_END),
    )

    async def history(**fields: Any) -> list[tuple[str, str, str]]:
        request = pb.ListSubscriptionHistoryRequest(subscription_id=sub.id, **fields)
        answer = await as_key(use_cases.servicer.ListSubscriptionHistory, request)
        return [(e.event_type, e.cause, e.actor) for e in answer.entries]

    assert await history() == [
        ("subscription.created", "checkout", "system"),
        ("subscription.activated", "checkout", "system"),
        ("subscription.renewal_failed", "soft_decline", "system"),
        # NOTE: past due, its period already ended: a cancel at period end expires it now.
        ("subscription.expired", "customer_request", ACTOR),
    ]
    assert await history(filter="cause = soft_decline") == [("subscription.renewal_failed", "soft_decline", "system")]
    assert (await history(order_by="occur_time desc"))[0][0] == "subscription.expired"
    with pytest.raises(NotFound):
        request = pb.ListSubscriptionHistoryRequest(subscription_id=sub.id)
        await as_key(use_cases.servicer.ListSubscriptionHistory, request, tenant="other-tenant")


def update(
    *paths: str, plan_id: str = "", expected: int | None = None, **rules: Any
) -> pb.UpdateLifecyclePolicyRequest:
    request = pb.UpdateLifecyclePolicyRequest(
        request_id=f"u-{plan_id}-{sorted(rules.items())}-{expected}",
        policy=pb.LifecyclePolicy(**rules),
        update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
        plan_id=plan_id,
    )
    if expected is not None:
        request.expected_version = expected
    return request


async def test_each_update_is_a_new_version_naming_who_and_when(use_cases: UseCases) -> None:
    servicer = use_cases.servicer
    assert (await as_key(servicer.GetLifecyclePolicy, pb.GetLifecyclePolicyRequest())).version == 0
    first = await as_key(servicer.UpdateLifecyclePolicy, update("grace_period", grace_period=days(5)))
    second = await as_key(
        servicer.UpdateLifecyclePolicy,
        update("retry_schedule", expected=1, retry_schedule=pb.RetrySchedule(days=[2, 4])),
    )
    assert (first.version, second.version, second.update_actor) == (1, 2, ACTOR)
    assert second.update_time.ToDatetime().replace(tzinfo=T0.tzinfo) == T0
    current = await as_key(servicer.GetLifecyclePolicy, pb.GetLifecyclePolicyRequest())
    assert (current.version, current.policy.grace_period.seconds) == (2, 5 * 86_400)
    assert list(current.policy.retry_schedule.days) == [2, 4]
    versions = await as_key(servicer.ListLifecyclePolicyVersions, pb.ListLifecyclePolicyVersionsRequest(page_size=1))
    older = await as_key(
        servicer.ListLifecyclePolicyVersions,
        pb.ListLifecyclePolicyVersionsRequest(page_size=1, page_token=versions.next_page_token),
    )
    assert [v.version for v in versions.versions] + [v.version for v in older.versions] == [2, 1]
    assert list(older.versions[0].policy.retry_schedule.days) == [1, 3, 5, 7]


async def test_an_update_based_on_an_old_version_changes_nothing(use_cases: UseCases) -> None:
    await as_key(use_cases.servicer.UpdateLifecyclePolicy, update("grace_period", grace_period=days(5)))
    with pytest.raises(PolicyVersionMismatch):
        await as_key(use_cases.servicer.UpdateLifecyclePolicy, update("hold_period", expected=0, hold_period=days(9)))
    current = await as_key(use_cases.servicer.GetLifecyclePolicy, pb.GetLifecyclePolicyRequest())
    assert (current.version, current.policy.hold_period.seconds) == (1, 30 * 86_400)


@pytest.mark.parametrize(
    ("rules", "field"),
    [
        ({"retry_schedule": pb.RetrySchedule(days=[3, 1])}, "policy.retry_schedule.days"),
        ({"retry_schedule": pb.RetrySchedule(days=[1, 40])}, "policy.retry_schedule.days"),
        ({"retry_schedule": pb.RetrySchedule(days=[1, 2**31 - 1])}, "policy.retry_schedule.days"),
        ({"grace_period": days(61)}, "policy.grace_period"),
        ({"hold_period": duration_pb2.Duration(seconds=-1)}, "policy.hold_period"),
        ({"max_pause": days(400)}, "policy.max_pause"),
    ],
)
async def test_an_invalid_policy_is_refused_naming_the_field(
    use_cases: UseCases, rules: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await as_key(use_cases.servicer.UpdateLifecyclePolicy, update(*rules, **rules))
    assert refused.value.violations[0].field == field
    assert (await as_key(use_cases.servicer.GetLifecyclePolicy, pb.GetLifecyclePolicyRequest())).version == 0


async def test_a_plan_override_changes_only_that_plan_and_names_its_fields(use_cases: UseCases) -> None:
    servicer = use_cases.servicer
    answer = await as_key(servicer.UpdateLifecyclePolicy, update("hold_period", plan_id="premium", hold_period=days(5)))
    override = answer.policy.plan_overrides["premium"]
    assert (override.hold_period.seconds, override.HasField("grace_period")) == (5 * 86_400, False)
    assert answer.policy.hold_period.seconds == 30 * 86_400
    with pytest.raises(InvalidArgument) as refused:
        # premium's window is grace (3 days) + hold (5 days): a retry on day 9 would never run
        await as_key(
            servicer.UpdateLifecyclePolicy,
            update("retry_schedule", plan_id="premium", retry_schedule=pb.RetrySchedule(days=[1, 9])),
        )
    assert refused.value.violations[0].field == "policy.retry_schedule.days"
    with pytest.raises(InvalidArgument) as tenant_wide:
        # nor may the tenant's rules make premium's override invalid
        await as_key(servicer.UpdateLifecyclePolicy, update("grace_period", grace_period=days(1)))
    assert tenant_wide.value.violations[0].field == "policy.plan_overrides[premium].retry_schedule.days"
    cleared = await as_key(servicer.UpdateLifecyclePolicy, update("hold_period", plan_id="premium"))
    assert "premium" not in cleared.policy.plan_overrides


async def test_a_changed_retry_schedule_is_what_the_next_failed_renewal_follows(use_cases: UseCases) -> None:
    sub = await use_cases.subscribe("basic")
    await as_key(
        use_cases.servicer.UpdateLifecyclePolicy,
        update("retry_schedule", retry_schedule=pb.RetrySchedule(days=[2, 3])),
    )
    use_cases.payments.script = [ChargeOutcome.SOFT_DECLINE]
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert use_cases.stored(sub).next_retry_at == MAY_1 + timedelta(days=2)


async def test_a_checked_update_answers_the_policy_it_would_store_and_stores_nothing(use_cases: UseCases) -> None:
    check = update("grace_period", grace_period=days(6))
    check.request_id, check.validate_only = "", True
    answer = await as_key(use_cases.servicer.UpdateLifecyclePolicy, check)
    assert (answer.version, answer.policy.grace_period.seconds) == (1, 6 * 86_400)
    current = await as_key(use_cases.servicer.GetLifecyclePolicy, pb.GetLifecyclePolicyRequest())
    assert (current.version, current.policy.grace_period.seconds) == (0, 3 * 86_400)


async def test_a_page_token_that_holds_no_sort_key_is_refused_naming_it(use_cases: UseCases) -> None:
    forged = encode_page_token(["not a time", "cus_1"], ("customers", repr(queries.customer_query("", ""))))
    with pytest.raises(InvalidArgument) as refused:
        await listed(use_cases, page_token=forged)
    assert refused.value.violations[0].field == "page_token"


def test_a_plan_with_no_retries_and_no_reminders_reads_back_as_none_not_as_the_tenants() -> None:
    overrides = {"premium": PolicyOverride(retry_schedule_days=(), invoice_reminder_days=())}
    policy = TenantLifecyclePolicy(LifecyclePolicy(invoice_reminder_days=(-3, 2)), overrides)
    read = policy_from_pb(policy_to_pb(policy), TenantLifecyclePolicy(), [])
    assert read == policy
    assert (read.for_plan("premium").retry_schedule_days, read.for_plan("premium").invoice_reminder_days) == ((), ())
    assert read.for_plan("basic").retry_schedule_days == (1, 3, 5, 7)
