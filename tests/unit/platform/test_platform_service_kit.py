"""The service kit: one servicer dialect (read, mutate once), one paging helper, shared converters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from azotte.common.v1 import sandbox_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_platform import convert, errors
from azotte_platform.clock import FixedClock
from azotte_platform.context import RequestContext, current, set_current, tenant_scope
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units, operation_of
from tests.fakes import FakeUnitOfWork, InMemoryIdempotency

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _units() -> tuple[Units[FakeUnitOfWork], list[FakeUnitOfWork]]:
    idempotency = InMemoryIdempotency()
    opened: list[FakeUnitOfWork] = []

    def factory() -> FakeUnitOfWork:
        uow = FakeUnitOfWork(FixedClock(NOW), idempotency)
        opened.append(uow)
        return uow

    return Units(factory), opened


async def test_mutate_runs_the_work_once_per_request_id_and_replays_its_answer() -> None:
    units, opened = _units()
    calls: list[str] = []

    async def work(uow: FakeUnitOfWork, tenant: str) -> sandbox_pb2.ClockAdvanced:
        calls.append(tenant)
        return sandbox_pb2.ClockAdvanced(offset_seconds=len(calls))

    request = lc.ReactivateSubscriptionRequest(request_id="r-1", subscription_id="sub_1")
    with tenant_scope("acme"):
        first = await units.mutate(request, sandbox_pb2.ClockAdvanced, work)
        again = await units.mutate(request, sandbox_pb2.ClockAdvanced, work)
    assert (first.offset_seconds, again.offset_seconds, calls) == (1, 1, ["acme"])
    assert opened[0].committed and not opened[1].committed


async def test_mutate_refuses_a_request_id_reused_with_other_content() -> None:
    units, _ = _units()

    async def work(uow: FakeUnitOfWork, tenant: str) -> sandbox_pb2.ClockAdvanced:
        return sandbox_pb2.ClockAdvanced()

    with tenant_scope("acme"):
        first = lc.ReactivateSubscriptionRequest(request_id="r-1", subscription_id="a")
        await units.mutate(first, sandbox_pb2.ClockAdvanced, work)
        with pytest.raises(errors.RequestIdReused):
            await units.mutate(
                lc.ReactivateSubscriptionRequest(request_id="r-1", subscription_id="b"), sandbox_pb2.ClockAdvanced, work
            )


async def test_mutate_requires_a_request_id_and_a_tenant() -> None:
    units, _ = _units()

    async def work(uow: FakeUnitOfWork, tenant: str) -> sandbox_pb2.ClockAdvanced:
        return sandbox_pb2.ClockAdvanced()

    with tenant_scope("acme"), pytest.raises(errors.InvalidArgument) as missing:
        await units.mutate(lc.ReactivateSubscriptionRequest(subscription_id="a"), sandbox_pb2.ClockAdvanced, work)
    assert missing.value.violations[0].field == "request_id"
    set_current(RequestContext())
    with pytest.raises(errors.TenantRequired):
        await units.read(work)


def test_operation_defaults_to_the_request_message_name() -> None:
    assert operation_of(lc.CancelSubscriptionRequest()) == "CancelSubscription"


def test_tenant_scope_keeps_the_request_id_and_restores_the_outer_context() -> None:
    set_current(RequestContext(tenant_id="", principal="key_1", request_id="req-7"))
    with tenant_scope("acme") as scoped:
        assert (current().tenant_id, scoped.principal, scoped.request_id) == ("acme", "key_1", "req-7")
    assert current() == RequestContext(principal="key_1", request_id="req-7")


def test_page_in_memory_walks_every_item_once_in_order() -> None:
    items = [f"sub_{n:02d}" for n in range(7)]
    seen: list[str] = []
    token = ""
    while True:
        page = PageRequest.of(lc.ListSubscriptionsRequest(page_size=3, page_token=token), "subs", "cust_1")
        result = page.page_in_memory(reversed(items), sort_key=str)
        seen += result.items
        token = result.next_page_token
        if not token:
            break
    assert seen == items
    first = PageRequest.of(lc.ListSubscriptionsRequest(page_size=2), "subs", "cust_1").page_in_memory(items, str)
    with pytest.raises(errors.InvalidArgument, match="different query"):
        PageRequest.of(lc.ListSubscriptionsRequest(page_token=first.next_page_token), "subs", "cust_2")


def test_keyset_page_request_fetches_one_more_row_than_it_answers() -> None:
    page = PageRequest.of(lc.ListSubscriptionsRequest(page_size=2), "subs")
    assert (page.limit, page.after_key()) == (3, None)
    cut = page.page(["a", "b", "c"], key_of=lambda row: [row])
    following = PageRequest.of(lc.ListSubscriptionsRequest(page_size=2, page_token=cut.next_page_token), "subs")
    assert (cut.items, following.after_key()) == (["a", "b"], "b")


def test_timestamps_round_trip_and_a_bad_one_names_its_field() -> None:
    stamp = convert.timestamp(NOW)
    assert convert.from_timestamp(stamp) == NOW
    request = lc.PauseSubscriptionRequest()
    assert convert.optional_from_timestamp(request, "resume_time") is None
    request.resume_time.seconds = 2**62
    with pytest.raises(errors.InvalidArgument) as raised:
        convert.optional_from_timestamp(request, "resume_time")
    assert raised.value.violations[0].field == "resume_time"


def test_an_unknown_enum_value_names_its_field() -> None:
    from azotte.common.v1 import channel_pb2
    from azotte_platform.enums import Channel

    telecom = convert.enum_from_pb(Channel, "CHANNEL", channel_pb2.CHANNEL_TELECOM, channel_pb2.Channel, "channel")
    assert telecom is Channel.TELECOM
    with pytest.raises(errors.InvalidArgument) as raised:
        convert.enum_from_pb(Channel, "CHANNEL", 99, channel_pb2.Channel, "event.channel")
    assert raised.value.violations[0].field == "event.channel"


def test_renamed_fields_keep_the_error_class_and_reason_and_name_the_callers_fields() -> None:
    from azotte_platform.validation import field_names

    class PlanInvalid(errors.InvalidArgument):
        """A test reason."""

        reason = "PLAN_INVALID"

    with pytest.raises(PlanInvalid) as raised, field_names({"features": "feature_grants", "key": "feature_key"}):
        raise PlanInvalid.field("plan.features[0].key", "unknown feature 'teleport'")
    assert raised.value.reason == "PLAN_INVALID"
    assert [v.field for v in raised.value.violations] == ["plan.feature_grants[0].feature_key"]
    assert raised.value.message == "plan.feature_grants[0].feature_key: unknown feature 'teleport'"
