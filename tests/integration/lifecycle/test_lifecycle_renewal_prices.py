"""Renewals priced by a real catalog under time travel: at_next_renewal, grandfathered, a channel's own price,
notice before an increase and consent where the storefront requires it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import pytest

from azotte.catalog.v1 import catalog_pb2 as cpb
from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.lifecycle.v1 import lifecycle_pb2 as pb
from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte_lifecycle.adapters.catalog import GrpcCatalog
from azotte_lifecycle.entrypoints.main import MIGRATIONS, assemble
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.clock import FixedClock
from azotte_platform.convert import from_timestamp, timestamp
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import start_runtime
from tests.conftest import Servers
from tests.integration.catalog.catalog_support import TenantStub, premium_plan, start_catalog, us_storefront
from tests.integration.lifecycle.conftest import T0, TENANT, Service
from tests.integration.lifecycle.test_lifecycle_year import get, new_customer, rid, travel
from tests.unit.lifecycle.fakes import FakePayments

WEB, TELECOM = channel_pb2.CHANNEL_WEB, channel_pb2.CHANNEL_TELECOM
S = subscription_state_pb2.SubscriptionState


@pytest.fixture
async def priced(servers: Servers) -> AsyncIterator[tuple[Service, TenantStub]]:
    """Lifecycle pricing through GrpcCatalog from a real catalog replica; both on one test clock."""
    clock = FixedClock(T0)
    catalog = await start_catalog(servers.new_database_url("catalog"), servers.nats_url, clock)
    settings = LifecycleSettings(
        database_url=servers.new_database_url("lifecycle"), nats_url=servers.nats_url, sandbox_clock=False
    )
    runtime = await start_runtime("lifecycle", settings, MIGRATIONS, clock=clock)
    catalog_channel = connect(catalog.address)
    payments = FakePayments()
    lifecycle = assemble(runtime, GrpcCatalog(catalog_channel), payments, settings)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("lifecycle")])
    lifecycle_pb2_grpc.add_LifecycleServiceServicer_to_server(lifecycle.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub = lifecycle_pb2_grpc.LifecycleServiceStub(channel)
        yield Service(runtime, lifecycle, stub, clock, payments), catalog.tenant(TENANT)
    finally:
        await channel.close(None)
        await server.stop(None)
        await runtime.close()
        await catalog_channel.close(None)
        await catalog.stop()


async def seed(catalog: TenantStub, notice_days: int = 0, consent: bool = False) -> None:
    """Storefront "us" on web and telecom; monthly plans premium ($10) and basic ($10, $8 on telecom)."""
    storefront = us_storefront(
        channels=[WEB, TELECOM], price_increase_notice_days=notice_days, price_increase_consent_required=consent
    )
    await catalog.CreateStorefront(cpb.CreateStorefrontRequest(storefront=storefront, request_id=rid()))
    feature = cpb.Feature(key="hd_streaming", display_name="HD", kind=cpb.FEATURE_KIND_BOOLEAN)
    await catalog.CreateFeature(cpb.CreateFeatureRequest(feature=feature, request_id=rid()))
    for plan in (premium_plan(), premium_plan(id="basic", display_name="Basic", family="music", rank=10)):
        await catalog.CreatePlan(cpb.CreatePlanRequest(plan=plan, request_id=rid()))
        await catalog.ActivatePlan(cpb.ActivatePlanRequest(id=plan.id, request_id=rid()))
    for plan_id, channel, amount in (("premium", None, 1000), ("basic", None, 1000), ("basic", TELECOM, 800)):
        await schedule(catalog, plan_id, amount, channel=channel)


async def schedule(
    catalog: TenantStub,
    plan_id: str,
    amount_minor: int,
    *,
    channel: channel_pb2.Channel.ValueType | None = None,
    after: timedelta | None = None,
    existing: cpb.ExistingSubscribers.ValueType = cpb.EXISTING_SUBSCRIBERS_GRANDFATHERED,
    now: FixedClock | None = None,
) -> None:
    request = cpb.SchedulePriceRequest(
        plan_id=plan_id,
        storefront_id="us",
        channel=channel or channel_pb2.CHANNEL_UNSPECIFIED,
        amount_minor=amount_minor,
        existing_subscribers=existing,
        request_id=rid(),
    )
    if after is not None:
        assert now is not None
        request.effective_time.CopyFrom(timestamp(now.now() + after))
    await catalog.SchedulePrice(request)


async def subscribe(svc: Service, plan_id: str, channel: channel_pb2.Channel.ValueType = WEB) -> str:
    response = await svc.stub.CreateSubscription(
        pb.CreateSubscriptionRequest(
            request_id=rid(),
            customer_id=await new_customer(svc),
            plan_id=plan_id,
            storefront_id="us",
            channel=channel,
            billing_origin=pb.BILLING_ORIGIN_AZOTTE_BILLED,
        ),
        metadata=svc.metadata,
    )
    return response.subscription.id


def charged(svc: Service, sub_id: str, period: int) -> int:
    """What the renewal into paid period `period` of a subscription charged."""
    (amount,) = (
        c.amount_minor for c in svc.payments.paid.values() if (c.subscription_id, c.period_index) == (sub_id, period)
    )
    return amount


async def test_renewals_pay_what_the_catalog_says_for_their_start_channel_and_renewal_time(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog)
    rising = await subscribe(svc, "premium")  # the rise at_next_renewal reaches it
    kept = await subscribe(svc, "basic")  # a grandfathered rise does not
    carrier = await subscribe(svc, "basic", TELECOM)  # its channel's own price applies
    clock = svc.clock
    rise = cpb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL
    await schedule(catalog, "premium", 1500, after=timedelta(days=10), existing=rise, now=clock)
    await schedule(catalog, "basic", 1500, after=timedelta(days=10), now=clock)
    await travel(svc, timedelta(days=11))
    late = await subscribe(svc, "basic")  # bought after the grandfathered rise: pays it
    await travel(svc, timedelta(days=21))  # 2025-02-02: the three older ones renewed
    assert [charged(svc, s, 2) for s in (rising, kept, carrier)] == [1500, 1000, 800]

    await schedule(catalog, "basic", 850, channel=TELECOM, after=timedelta(days=5), existing=rise, now=clock)
    await travel(svc, timedelta(days=28))  # 2025-03-02
    assert [charged(svc, s, 3) for s in (rising, kept, carrier)] == [1500, 1000, 850]
    await travel(svc, timedelta(days=10))  # 2025-03-12: a month after its start
    assert charged(svc, late, 2) == 1500


async def test_a_rise_announced_too_late_for_a_renewal_reaches_the_one_after_with_its_notice(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog, notice_days=30)
    sub_id = await subscribe(svc, "premium")  # 2025-01-01, renews on the 1st
    rise = cpb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL
    await travel(svc, timedelta(days=1))  # 2025-01-02: 30 days before February's renewal, no rise to tell
    await travel(svc, timedelta(days=25))  # 2025-01-27: 5 days before it
    await schedule(catalog, "premium", 1500, after=timedelta(days=1), existing=rise, now=svc.clock)
    await travel(svc, timedelta(days=3))  # 2025-01-30: 30 days before the March renewal
    told = (await get(svc, sub_id)).pending_price_change
    assert (told.old_renewal_price.amount_minor, told.new_renewal_price.amount_minor) == (1000, 1500)
    assert from_timestamp(told.effective_time) == T0.replace(month=3)
    await travel(svc, timedelta(days=3))  # 2025-02-02
    await travel(svc, timedelta(days=28))  # 2025-03-02
    assert [charged(svc, sub_id, 2), charged(svc, sub_id, 3)] == [1000, 1500]
    assert not (await get(svc, sub_id)).HasField("pending_price_change")
    history = await svc.stub.ListSubscriptionHistory(
        pb.ListSubscriptionHistoryRequest(subscription_id=sub_id), metadata=svc.metadata
    )
    assert [(e.event_type, from_timestamp(e.occur_time).date().isoformat()) for e in history.entries] == [
        ("subscription.created", "2025-01-01"),
        ("subscription.activated", "2025-01-01"),
        ("subscription.price_change_scheduled", "2025-01-30"),
        ("subscription.renewed", "2025-02-02"),  # at 1000, swept the day after it fell due
        ("subscription.renewed", "2025-03-02"),  # at 1500
    ]


async def test_where_consent_is_required_an_accepted_rise_is_charged_and_an_unanswered_one_ends_it(
    priced: tuple[Service, TenantStub],
) -> None:
    svc, catalog = priced
    await seed(catalog, notice_days=30, consent=True)
    accepts, silent = await subscribe(svc, "premium"), await subscribe(svc, "premium")
    cheaper = await subscribe(svc, "basic", TELECOM)  # $8
    await travel(svc, timedelta(days=1))  # 2025-01-02: February's renewal checked, nothing to tell
    rise = cpb.EXISTING_SUBSCRIBERS_AT_NEXT_RENEWAL
    await schedule(catalog, "premium", 1500, after=timedelta(days=8), existing=rise, now=svc.clock)
    await schedule(catalog, "basic", 700, channel=TELECOM, after=timedelta(days=8), existing=rise, now=svc.clock)
    await travel(svc, timedelta(days=28))  # 2025-01-30: March's renewal checked
    told = {s: (await get(svc, s)).pending_price_change for s in (accepts, silent, cheaper)}
    assert [(t.new_renewal_price.amount_minor, t.consent_required) for t in told.values()] == [
        (1500, True),
        (1500, True),
        (0, False),  # a decrease asks nothing
    ]
    await travel(svc, timedelta(days=3))  # 2025-02-02
    assert [charged(svc, s, 2) for s in (accepts, silent, cheaper)] == [1000, 1000, 700]
    await svc.stub.ConsentToPriceChange(
        pb.ConsentToPriceChangeRequest(request_id=rid(), subscription_id=accepts), metadata=svc.metadata
    )
    await travel(svc, timedelta(days=28))  # 2025-03-02
    assert charged(svc, accepts, 3) == 1500
    assert not [c for c in svc.payments.paid.values() if (c.subscription_id, c.period_index) == (silent, 3)]
    ended = await get(svc, silent)
    assert ended.state == S.SUBSCRIPTION_STATE_EXPIRED
    history = await svc.stub.ListSubscriptionHistory(
        pb.ListSubscriptionHistoryRequest(subscription_id=silent), metadata=svc.metadata
    )
    assert [e.event_type for e in history.entries][-4:] == [
        "subscription.price_change_scheduled",
        "subscription.renewed",
        "subscription.price_change_declined",
        "subscription.expired",
    ]
