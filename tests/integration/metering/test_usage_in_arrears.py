"""Usage charged in arrears on real PostgreSQL and NATS, under time travel: each renewal closes its period once,
its bill is frozen for every retry, and an event arriving after the bill goes to the next one as an adjustment."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest

from azotte.metering.v1 import metering_pb2 as mpb
from azotte.metering.v1 import wallets_pb2 as pb
from azotte_platform.convert import timestamp
from azotte_platform.errors import InvalidArgument
from tests.helpers import eventually
from tests.integration.metering.conftest import T0, Service
from tests.integration.metering.metering_support import cloud_event, create_meter, failure, ingest, rid
from tests.integration.metering.wallets_support import Wallets, graduated_price, serving_wallets, subscribe

MARCH = (T0 - timedelta(days=9), T0 + timedelta(days=21))
APRIL = (MARCH[1], MARCH[1] + timedelta(days=30))
MAY = (APRIL[1], APRIL[1] + timedelta(days=31))


@pytest.fixture
async def wallets(service: Service) -> AsyncIterator[Wallets]:
    async with serving_wallets(service) as serving:
        yield serving


async def close(wallets: Wallets, customer: str, period: tuple[datetime, datetime], next_end: datetime) -> pb.UsageBill:
    request = pb.CloseUsagePeriodsRequest(
        periods=[
            pb.UsagePeriodToClose(
                subscription_id=f"sub-{customer}",
                customer_id=customer,
                period_start_time=timestamp(period[0]),
                period_end_time=timestamp(period[1]),
                next_period_end_time=timestamp(next_end),
            )
        ]
    )
    response = await wallets.stub.CloseUsagePeriods(request, metadata=wallets.metadata)
    (bill,) = response.bills
    return bill


async def previewed(wallets: Wallets, customer: str) -> pb.PreviewUsageChargesResponse:
    answer: pb.PreviewUsageChargesResponse = await wallets.stub.PreviewUsageCharges(
        pb.PreviewUsageChargesRequest(customer_id=customer), metadata=wallets.metadata
    )
    return answer


def tokens(event_id: str, customer: str, at: datetime, count: int) -> mpb.CloudEvent:
    return cloud_event(event_id, customer, at, {"tokens": count})


async def test_two_periods_each_billed_once_with_the_late_event_on_the_next(wallets: Wallets) -> None:
    service, customer = wallets.service, f"cus-{uuid.uuid4().hex[:6]}"
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM)
    await wallets.stub.SetUsagePrice(
        pb.SetUsagePriceRequest(request_id=rid(), price=graduated_price("tokens")), metadata=wallets.metadata
    )
    await subscribe(wallets, customer, *MARCH)
    await eventually(lambda: _period_starts(wallets, customer, MARCH[0]))
    service.clock.set(T0 + timedelta(days=5))
    await ingest(service, tokens("m1", customer, T0, 3), tokens("m2", customer, T0 + timedelta(days=5), 2))
    await eventually(lambda: _subtotal_is(wallets, customer, 3500))

    service.clock.set(MARCH[1] + timedelta(minutes=1))
    march, again = await asyncio.gather(
        close(wallets, customer, MARCH, APRIL[1]), close(wallets, customer, MARCH, APRIL[1])
    )
    assert march == again
    assert [(line.meter_key, line.quantity, line.amount.amount_minor) for line in march.lines] == [
        ("tokens", "5", 3500)
    ]
    assert (march.due.amount_minor, march.period_start_time.ToDatetime(), march.subscription_id) == (
        3500,
        MARCH[0].replace(tzinfo=None),
        f"sub-{customer}",
    )

    service.clock.set(APRIL[0] + timedelta(days=3))
    late = tokens("m-late", customer, MARCH[1] - timedelta(hours=1), 2)
    await ingest(service, tokens("a1", customer, APRIL[0] + timedelta(days=1), 1))
    await ingest(service, late)
    await eventually(lambda: _subtotal_is(wallets, customer, 700 + 1300))
    assert await close(wallets, customer, MARCH, APRIL[1]) == march

    service.clock.set(APRIL[1])
    april = await close(wallets, customer, APRIL, MAY[1])
    assert [(line.quantity, line.amount.amount_minor) for line in april.lines] == [("1", 700)]
    # NOTE: March re-rated from 5 units (35 USD) to 7 (48 USD): the late two fall in the 6.50 tier.
    assert [(a.quantity, a.amount.amount_minor) for a in april.adjustments] == [("2", 1300)]
    assert april.due.amount_minor == 2000
    assert (await previewed(wallets, customer)).period_start_time.ToDatetime() == MAY[0].replace(tzinfo=None)


async def test_a_period_to_close_without_its_times_is_refused_naming_the_field(wallets: Wallets) -> None:
    request = pb.CloseUsagePeriodsRequest(periods=[pb.UsagePeriodToClose(subscription_id="sub-1", customer_id="c")])
    refused = await failure(wallets.stub.CloseUsagePeriods(request, metadata=wallets.metadata))
    assert isinstance(refused, InvalidArgument)
    assert refused.violations[0].field == "periods[0].period_start_time"


async def _period_starts(wallets: Wallets, customer: str, start: datetime) -> bool:
    return (await previewed(wallets, customer)).period_start_time.ToDatetime() == start.replace(tzinfo=None)


async def _subtotal_is(wallets: Wallets, customer: str, amount_minor: int) -> bool:
    charges = await previewed(wallets, customer)
    return charges.subtotal.amount_minor == amount_minor
