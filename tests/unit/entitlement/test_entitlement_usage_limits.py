"""Metering's hard limits through entitlement: a reached limit suspends the feature and checks answer the
limit's reason (QUOTA_EXHAUSTED or SPEND_LIMIT_REACHED); only that limit's release restores it. A quota used as
metering measures it fills the plan's quota of the period, until the period ends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import events_pb2 as entitlement_events
from azotte.metering.v1 import events_pb2, wallets_pb2
from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.derivation import PlanFeature, SubscriptionSnapshot, subscription_corrections
from azotte_entitlement.domain.grants import FeatureKind
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.metering_consumer import LimitEventHandler, QuotaEventHandler
from azotte_entitlement.entrypoints.servicer import EntitlementServicer
from azotte_entitlement.service_layer import usage_controls
from azotte_platform.clock import FixedClock
from azotte_platform.context import tenant_scope
from azotte_platform.convert import optional_timestamp, timestamp
from azotte_platform.enums import SubscriptionState
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork, FakePlanCatalog, no_gate

START = datetime(2026, 3, 1, tzinfo=UTC)
NOW = START + timedelta(days=2)


def subscribed() -> AccessProjection:
    projection = AccessProjection()
    features = (PlanFeature("ai.chat", FeatureKind.BOOLEAN), PlanFeature("tokens", FeatureKind.QUOTA, 1000))
    snapshot = SubscriptionSnapshot(
        "t1", "sub-1", "cust-1", SubscriptionState.ACTIVE, False, START, START + timedelta(days=30), features
    )
    projection.apply(subscription_corrections(snapshot, None, [], revoked=False))
    return projection


def limit_event(kind: str, limit_id: str, denial: str = "SPEND_LIMIT_REACHED") -> ReceivedEvent:
    payload = events_pb2.LimitChanged(
        tenant_id="t1",
        customer_id="cust-1",
        limit=wallets_pb2.Limit(limit_id=limit_id, feature_key="ai.chat"),
        denial=denial,
    )
    return ReceivedEvent(
        f"ev-{kind}-{limit_id}", kind, "azotte/metering", "t1", NOW, "", "", payload.SerializeToString(), {}
    )


def quota_event(number: int, used: int, period_start: datetime, period_end: datetime | None = None) -> ReceivedEvent:
    payload = events_pb2.QuotaUsed(
        tenant_id="t1",
        customer_id="cust-1",
        feature_key="tokens",
        meter_key="ai.tokens",
        used=used,
        period_start_time=timestamp(period_start),
        period_end_time=optional_timestamp(period_end),
    )
    return ReceivedEvent(
        f"ev-quota-{number}", "quota.used", "azotte/metering", "t1", NOW, "", "", payload.SerializeToString(), {}
    )


async def handle(
    uow: FakeEntitlementUnitOfWork, handler: LimitEventHandler | QuotaEventHandler, event: ReceivedEvent
) -> None:
    with tenant_scope("t1"):
        async with uow:
            await handler(uow, event)
            await uow.commit()


async def test_a_reached_spend_limit_denies_with_its_reason_until_released() -> None:
    projection = subscribed()
    uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
    handler = LimitEventHandler(projection)
    await handle(uow, handler, limit_event("limit.reached", "cap"))
    decision = projection.check("t1", "cust-1", "ai.chat", NOW)
    assert (decision.allowed, decision.reason) == (False, AccessReason.SPEND_LIMIT_REACHED)
    await handle(uow, handler, limit_event("limit.released", "other-limit"))
    assert not projection.check("t1", "cust-1", "ai.chat", NOW).allowed
    await handle(uow, handler, limit_event("limit.released", "cap"))
    assert projection.check("t1", "cust-1", "ai.chat", NOW).allowed


async def test_a_quota_limit_answers_quota_exhausted_and_a_manual_suspension_stays_suspended() -> None:
    projection = subscribed()
    uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
    handler = LimitEventHandler(projection)
    await handle(uow, handler, limit_event("limit.reached", "units", "QUOTA_EXHAUSTED"))
    assert projection.check("t1", "cust-1", "ai.chat", NOW).reason is AccessReason.QUOTA_EXHAUSTED
    await handle(uow, handler, limit_event("limit.released", "units", "QUOTA_EXHAUSTED"))
    with tenant_scope("t1"):
        async with uow:
            await usage_controls.suspend_feature(uow, projection, "t1", "cust-1", "ai.chat", "abuse: ticket 42")
            await uow.commit()
    assert projection.check("t1", "cust-1", "ai.chat", NOW).reason is AccessReason.SUSPENDED
    await handle(uow, handler, limit_event("limit.released", "units", "QUOTA_EXHAUSTED"))
    assert projection.check("t1", "cust-1", "ai.chat", NOW).reason is AccessReason.SUSPENDED


async def test_the_quota_used_as_metered_fills_the_plans_quota_and_a_new_period_starts_afresh() -> None:
    projection = subscribed()
    uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
    handler = QuotaEventHandler(projection)
    await handle(uow, handler, quota_event(1, 600, START))
    decision = projection.check("t1", "cust-1", "tokens", NOW)
    assert (decision.allowed, decision.used, decision.remaining) == (True, 600, 400)
    await handle(uow, handler, quota_event(2, 600, START))  # the same use reported again
    await handle(uow, handler, quota_event(3, 500, START))  # an older report arriving late
    assert [e.type for e in uow.published] == ["entitlement.usage_recorded"]
    assert projection.check("t1", "cust-1", "tokens", NOW).used == 600
    await handle(uow, handler, quota_event(4, 1000, START))
    assert projection.check("t1", "cust-1", "tokens", NOW).reason is AccessReason.QUOTA_EXHAUSTED
    await handle(uow, handler, quota_event(5, 0, START + timedelta(days=1)))
    assert projection.check("t1", "cust-1", "tokens", NOW).allowed


async def test_a_daily_quota_counts_as_unused_once_its_period_ends_even_without_a_new_report() -> None:
    projection = subscribed()
    uow = FakeEntitlementUnitOfWork(FixedClock(START))
    handler = QuotaEventHandler(projection)
    day_2, day_3 = START + timedelta(days=1), START + timedelta(days=2)
    await handle(uow, handler, quota_event(1, 1000, START, day_2))

    exhausted = projection.check("t1", "cust-1", "tokens", day_2 - timedelta(seconds=1))
    assert (exhausted.allowed, exhausted.reason, exhausted.usage_period_end) == (
        False,
        AccessReason.QUOTA_EXHAUSTED,
        day_2,  # the answer says when the quota resets
    )
    recorded = uow.published[-1].payload
    assert isinstance(recorded, entitlement_events.UsageRecorded) and recorded.period_end_time == timestamp(day_2)
    for past_the_end in (day_2, day_2 + timedelta(hours=5)):  # no report came since
        reset = projection.check("t1", "cust-1", "tokens", past_the_end)
        assert (reset.allowed, reset.reason, reset.used, reset.remaining) == (True, None, 0, 1000)
        assert reset.usage_period_end is None  # the next period is not known yet
    listed = {d.feature_key: d for d in projection.list_entitlements("t1", "cust-1", day_2)}
    assert (listed["tokens"].used, listed["tokens"].remaining) == (0, 1000)

    await handle(uow, handler, quota_event(2, 300, day_2, day_3))
    next_day = projection.check("t1", "cust-1", "tokens", day_2 + timedelta(hours=5))
    assert (next_day.allowed, next_day.used, next_day.remaining, next_day.usage_period_end) == (True, 300, 700, day_3)


async def test_a_report_of_the_same_period_and_use_with_another_end_moves_the_end() -> None:
    projection = subscribed()
    uow = FakeEntitlementUnitOfWork(FixedClock(START))
    handler = QuotaEventHandler(projection)
    await handle(uow, handler, quota_event(1, 1000, START, START + timedelta(days=1)))
    await handle(uow, handler, quota_event(2, 1000, START, START + timedelta(days=3)))
    await handle(uow, handler, quota_event(3, 1000, START, START + timedelta(days=3)))  # the same again

    assert [e.type for e in uow.published] == ["entitlement.usage_recorded"] * 2
    assert projection.check("t1", "cust-1", "tokens", NOW).reason is AccessReason.QUOTA_EXHAUSTED


@pytest.mark.parametrize("end", [START, START - timedelta(hours=1)])
async def test_record_usage_refuses_a_period_ending_before_it_starts_and_writes_nothing(end: datetime) -> None:
    projection = subscribed()
    uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
    plans = FakePlanCatalog({})
    servicer = EntitlementServicer(lambda: uow, projection, plans, uow.clock, timedelta(days=7), no_gate())
    request = pb.RecordUsageRequest(
        request_id="u-1",
        customer_id="cust-1",
        feature_key="tokens",
        used=1000,
        period_start_time=timestamp(START),
        period_end_time=timestamp(end),
    )
    with tenant_scope("t1"), pytest.raises(InvalidArgument) as refused:
        await servicer.RecordUsage(request, None)

    assert [v.field for v in refused.value.violations] == ["period_end_time"]
    assert (uow.access.usage, uow.published) == ({}, [])
    assert projection.check("t1", "cust-1", "tokens", NOW).used == 0
