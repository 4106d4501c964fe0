"""Usage billing on real PostgreSQL and NATS: events ingested are rated into the customer's period, burn
their wallet, recharge it once, cross thresholds and limits, and preview as charge lines."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from azotte.metering.v1 import events_pb2
from azotte.metering.v1 import metering_pb2 as mpb
from azotte.metering.v1 import wallets_pb2 as pb
from azotte_platform.errors import InvalidArgument, NotFound
from tests.helpers import eventually
from tests.integration.metering.conftest import T0, Service
from tests.integration.metering.metering_support import cloud_event, create_meter, failure, ingest, rid
from tests.integration.metering.wallets_support import (
    Wallets,
    graduated_price,
    grant_and_recharge,
    published,
    serving_wallets,
    subscribe,
    usd,
)

PERIOD_START = T0 - timedelta(days=9)
PERIOD_END = PERIOD_START + timedelta(days=30)


@pytest.fixture
async def wallets(service: Service) -> AsyncIterator[Wallets]:
    async with serving_wallets(service) as serving:
        yield serving


async def preview(wallets: Wallets, customer: str) -> pb.PreviewUsageChargesResponse:
    response: pb.PreviewUsageChargesResponse = await wallets.stub.PreviewUsageCharges(
        pb.PreviewUsageChargesRequest(customer_id=customer), metadata=wallets.metadata
    )
    return response


async def balance(wallets: Wallets, customer: str) -> int:
    answer = await wallets.stub.GetWallet(
        pb.GetWalletRequest(customer_id=customer, currency_code="USD"), metadata=wallets.metadata
    )
    return int(answer.wallet.balance.amount_minor)


async def balance_is(wallets: Wallets, customer: str, expected: int) -> bool:
    return await balance(wallets, customer) == expected


async def subscribed(wallets: Wallets, customer: str) -> None:
    await subscribe(wallets, customer, PERIOD_START, PERIOD_END)

    async def followed() -> bool:
        return (await preview(wallets, customer)).period_start_time.ToDatetime() == PERIOD_START.replace(tzinfo=None)

    await eventually(followed)


def tokens(event_id: str, customer: str, count: int, model: str = "small") -> mpb.CloudEvent:
    return cloud_event(event_id, customer, T0, {"tokens": count, "model": model})


async def test_usage_burns_the_wallet_in_real_time_and_recharges_it_once(wallets: Wallets) -> None:
    service, customer = wallets.service, f"cus-{uuid.uuid4().hex[:6]}"
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM, dimensions=["model"])
    await subscribed(wallets, customer)
    await wallets.stub.SetUsagePrice(
        pb.SetUsagePriceRequest(request_id=rid(), price=graduated_price("tokens")), metadata=wallets.metadata
    )
    await grant_and_recharge(wallets, customer, 5000, recharge_below=1000, recharge=10_000)
    await ingest(service, tokens("e1", customer, 3), tokens("e2", customer, 2))
    await eventually(lambda: balance_is(wallets, customer, 5000 - 3500))
    # NOTE: a duplicate is not counted again; the sixth unit falls in the 6.50 tier and crosses 1000.
    await ingest(service, tokens("e1", customer, 3), tokens("e3", customer, 1))
    await eventually(lambda: balance_is(wallets, customer, 5000 - 4150 + 10_000))
    assert wallets.payments.collected() == 10_000 and len(wallets.payments.charges) == 1
    charges = await preview(wallets, customer)
    assert [(line.quantity, line.amount.amount_minor) for line in charges.lines] == [("6", 4150)]
    assert (charges.subtotal.amount_minor, charges.credited.amount_minor, charges.due.amount_minor) == (4150, 4150, 0)
    history = await wallets.stub.ListWalletMovements(
        pb.ListWalletMovementsRequest(customer_id=customer, currency_code="USD", page_size=2),
        metadata=wallets.metadata,
    )
    assert [m.kind for m in history.movements] == [pb.MOVEMENT_KIND_GRANTED, pb.MOVEMENT_KIND_BURNED]
    assert history.next_page_token


async def test_a_hard_limit_is_reached_once_and_alerts_once_per_threshold(wallets: Wallets) -> None:
    service, customer = wallets.service, f"cus-{uuid.uuid4().hex[:6]}"
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM, dimensions=["model"])
    limit = pb.Limit(
        limit_id=f"lim-{customer}",
        customer_id=customer,
        feature_key="ai.chat",
        measure=pb.LIMIT_MEASURE_UNITS,
        value="100",
        policy=pb.LIMIT_POLICY_SUSPEND,
        meter_key="tokens",
        alert_percents=[50, 80],
    )
    await wallets.stub.SetLimit(pb.SetLimitRequest(request_id=rid(), limit=limit), metadata=wallets.metadata)
    await ingest(service, tokens("a", customer, 60), tokens("b", customer, 10, "large"))
    await ingest(service, tokens("c", customer, 15), tokens("d", customer, 15))
    await ingest(service, tokens("e", customer, 15))

    async def reached() -> list[bytes]:
        return await published(wallets, "limit.reached")

    (changed,) = [events_pb2.LimitChanged.FromString(data) for data in await eventually(reached)]
    assert (changed.customer_id, changed.limit.feature_key, changed.denial) == (customer, "ai.chat", "QUOTA_EXHAUSTED")
    alerts = [
        events_pb2.ThresholdCrossed.FromString(data).percent for data in await published(wallets, "threshold.crossed")
    ]
    assert sorted(alerts) == [50, 80]
    got = await wallets.stub.GetLimit(pb.GetLimitRequest(limit_id=limit.limit_id), metadata=wallets.metadata)
    assert got.limit.cut_off and list(got.limit.alerted_percents) == [50, 80]


async def test_bad_requests_name_their_field_and_other_tenants_see_nothing(wallets: Wallets) -> None:
    service = wallets.service
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM)
    bad_tier = graduated_price("tokens")
    bad_tier.tiers[1].up_to = "NaN"
    error = await failure(
        wallets.stub.SetUsagePrice(pb.SetUsagePriceRequest(request_id=rid(), price=bad_tier), metadata=wallets.metadata)
    )
    assert isinstance(error, InvalidArgument) and "price.tiers[1].up_to" in error.message
    huge = pb.GrantCreditRequest(request_id=rid(), customer_id="c", amount=usd(2**62))
    error = await failure(wallets.stub.GrantCredit(huge, metadata=wallets.metadata))
    assert isinstance(error, InvalidArgument) and "amount.amount_minor" in error.message
    await wallets.stub.GrantCredit(
        pb.GrantCreditRequest(request_id=rid(), customer_id="c", amount=usd(100)), metadata=wallets.metadata
    )
    other = (("x-azotte-tenant", f"other-{uuid.uuid4().hex[:6]}"),)
    error = await failure(
        wallets.stub.GetWallet(pb.GetWalletRequest(customer_id="c", currency_code="USD"), metadata=other)
    )
    assert isinstance(error, NotFound)


async def test_a_percentage_price_bounds_each_transaction_read_from_the_raw_events(wallets: Wallets) -> None:
    service, customer = wallets.service, f"cus-{uuid.uuid4().hex[:6]}"
    await create_meter(service, "payments", mpb.AGGREGATION_SUM, value_path="amount", event_type="payment.made")
    await subscribed(wallets, customer)
    price = pb.UsagePrice(
        storefront_id="sf_us",
        plan_id="plan_ai",
        meter_key="payments",
        currency_code="USD",
        model=pb.PRICING_MODEL_PERCENTAGE,
        percentage=pb.PercentagePrice(rate="1", min_per_transaction="100", max_per_transaction="10000"),
    )
    await wallets.stub.SetUsagePrice(pb.SetUsagePriceRequest(request_id=rid(), price=price), metadata=wallets.metadata)
    payments = [
        cloud_event(f"p{index}", customer, T0, {"amount": amount}, type_="payment.made")
        for index, amount in enumerate((5000, 50_000, 2_000_000))
    ]
    await ingest(service, *payments)

    async def rated() -> bool:
        lines = (await preview(wallets, customer)).lines
        return [(line.quantity, line.amount.amount_minor) for line in lines] == [("2055000", 10_600)]

    await eventually(rated)
