"""Wallets under concurrency on real PostgreSQL: a top-up repeated at once charges once; usage of one customer
rated at once by several replicas burns exactly what it costs and starts one auto-recharge; customers rated in
one transaction are each counted, paid and limited on their own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from azotte.metering.v1 import events_pb2
from azotte.metering.v1 import metering_pb2 as mpb
from azotte.metering.v1 import wallets_pb2 as pb
from azotte_metering.adapters.billing_unit_of_work import PostgresBillingUnitOfWork
from azotte_metering.domain.charges import calendar_month
from azotte_metering.domain.wallets import MovementKind
from azotte_metering.service_layer import rating
from azotte_metering.service_layer.rating import RecordedUsage
from azotte_platform.context import tenant_scope
from tests.helpers import eventually
from tests.integration.metering.conftest import T0, Service
from tests.integration.metering.metering_support import create_meter, rid
from tests.integration.metering.wallets_support import (
    Wallets,
    grant_and_recharge,
    published,
    serving_wallets,
    subscribe,
    usd,
)
from tests.unit.metering.billing_fakes import FakeQuotaResets

REPLICAS = 8


@pytest.fixture
async def wallets(service: Service) -> AsyncIterator[Wallets]:
    async with serving_wallets(service) as serving:
        yield serving


async def test_a_top_up_sent_many_times_at_once_charges_once_and_grants_once(wallets: Wallets) -> None:
    request = pb.TopUpWalletRequest(request_id=rid(), customer_id="cus", amount=usd(2500), storefront_id="sf_us")
    answers = await asyncio.gather(
        *(wallets.stub.TopUpWallet(request, metadata=wallets.metadata) for _ in range(REPLICAS)),
        return_exceptions=True,
    )
    succeeded = [answer for answer in answers if isinstance(answer, pb.TopUpWalletResponse)]
    assert succeeded and len({answer.charge_id for answer in succeeded}) == 1
    assert wallets.payments.collected() == 2500
    wallet = await wallets.stub.GetWallet(
        pb.GetWalletRequest(customer_id="cus", currency_code="USD"), metadata=wallets.metadata
    )
    assert wallet.wallet.balance.amount_minor == 2500


async def priced_customer(wallets: Wallets, customer: str, *, credit: int = 1000, auto_recharge: bool = True) -> None:
    """`customer` followed on `plan_ai` (tokens at 1 cent each), with `credit` (minor units) and, when asked, an
    auto-recharge of 30 USD below 5 USD."""
    await subscribe(wallets, customer, T0 - timedelta(days=1), T0 + timedelta(days=29))

    async def followed() -> bool:
        preview = await wallets.stub.PreviewUsageCharges(
            pb.PreviewUsageChargesRequest(customer_id=customer), metadata=wallets.metadata
        )
        return bool(preview.subscription_id)

    # NOTE: usage rated before metering follows the subscription is not priced: wait for it.
    await eventually(followed)
    price = pb.UsagePrice(
        storefront_id="sf_us",
        plan_id="plan_ai",
        meter_key="tokens",
        currency_code="USD",
        model=pb.PRICING_MODEL_PER_UNIT,
        unit_price="1",
    )
    await wallets.stub.SetUsagePrice(pb.SetUsagePriceRequest(request_id=rid(), price=price), metadata=wallets.metadata)
    if auto_recharge:
        await grant_and_recharge(wallets, customer, credit, recharge_below=500, recharge=3000)
    else:
        await grant_and_recharge(wallets, customer, credit)


async def burned_and_recharges(service: Service, customer: str) -> tuple[int, int]:
    """What the customer's wallet burned (minor units) and how many auto-recharges it started."""
    runtime = service.runtime
    with tenant_scope(service.tenant):
        async with PostgresBillingUnitOfWork(runtime.engine, runtime.clock) as uow:
            wallet = await uow.wallets.get(service.tenant, customer, "USD")
            history = await uow.wallets.movements(service.tenant, customer, "USD", 100, None)
    assert wallet is not None
    burned = [entry.movement.amount_minor for entry in history if entry.movement.kind is MovementKind.BURNED]
    return -sum(burned), wallet.recharges


async def rate_together(service: Service, usages: list[RecordedUsage]) -> None:
    """Rate `usages` in one transaction, a customer at a time, as the rating consumer rates a backlog."""
    runtime = service.runtime
    with tenant_scope(service.tenant):
        async with PostgresBillingUnitOfWork(runtime.engine, runtime.clock) as uow:
            await rating.rate_usage(uow, FakeQuotaResets(), service.tenant, usages)
            await uow.commit()


def tokens(event_id: str, customer: str) -> RecordedUsage:
    return RecordedUsage(event_id, customer, "tokens", "sum", {}, T0, T0, 1, Decimal(100))


async def test_replicas_rating_one_customer_at_once_burn_exactly_and_recharge_once(wallets: Wallets) -> None:
    service, customer = wallets.service, f"cus-{uuid.uuid4().hex[:6]}"
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM)
    await priced_customer(wallets, customer)
    await asyncio.gather(*(rate_together(service, [tokens(f"u{index}", customer)]) for index in range(REPLICAS)))
    burned, recharges = await burned_and_recharges(service, customer)
    assert burned == REPLICAS * 100
    # NOTE: the recharge may already be charged by the worker in the background: it was started once.
    assert recharges == 1
    assert set(wallets.payments.charges) <= {f"recharge:{customer}:USD:1"}


async def test_replicas_rating_backlogs_of_the_same_customers_together_burn_exactly_without_deadlock(
    wallets: Wallets,
) -> None:
    service = wallets.service
    customers = [f"cus-{uuid.uuid4().hex[:6]}" for _ in range(3)]
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM)
    for customer in customers:
        await priced_customer(wallets, customer, credit=10_000, auto_recharge=False)
    # NOTE: each replica's backlog names the customers in another order; each rates them in one order.
    backlogs = [
        [tokens(f"r{replica}-{n}", customers[(replica + n) % 3]) for n in range(6)] for replica in range(REPLICAS)
    ]
    await asyncio.gather(*(rate_together(service, backlog) for backlog in backlogs))
    for customer in customers:
        assert await burned_and_recharges(service, customer) == (REPLICAS * 2 * 100, 0)


async def test_replicas_rating_months_of_a_customer_without_subscription_in_either_order_count_each_once(
    wallets: Wallets,
) -> None:
    service, customer = wallets.service, f"cus-{uuid.uuid4().hex[:6]}"
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM)
    months = (T0 - timedelta(days=20), T0)  # NOTE: two calendar months, each a period of its own

    def usage(replica: int, at: datetime) -> RecordedUsage:
        return RecordedUsage(f"m{replica}-{at:%m}", customer, "tokens", "sum", {}, at, at, 1, Decimal(100))

    # NOTE: half the replicas name the later month first; each locks the months earliest first.
    backlogs = [[usage(r, at) for at in (months if r % 2 else months[::-1])] for r in range(REPLICAS)]
    await asyncio.gather(*(rate_together(service, backlog) for backlog in backlogs))
    runtime = service.runtime
    with tenant_scope(service.tenant):
        async with PostgresBillingUnitOfWork(runtime.engine, runtime.clock) as uow:
            for at in months:
                period = calendar_month(at)
                (total,) = await uow.usage.totals(service.tenant, customer, period)
                assert (total.quantity, total.event_count) == (Decimal(REPLICAS * 100), REPLICAS)


async def test_customers_rated_in_one_transaction_are_each_counted_paid_and_limited_on_their_own(
    wallets: Wallets,
) -> None:
    service = wallets.service
    first, second = (f"cus-{uuid.uuid4().hex[:6]}" for _ in range(2))
    await create_meter(service, "tokens", mpb.AGGREGATION_SUM)
    # NOTE: each usage below is 100 tokens at 1 cent: 1 USD.
    for customer, credit in ((first, 500), (second, 150)):
        await priced_customer(wallets, customer, credit=credit, auto_recharge=False)
        limit = pb.Limit(
            limit_id=f"spend-{customer}",
            customer_id=customer,
            feature_key="ai.chat",
            measure=pb.LIMIT_MEASURE_SPEND,
            value="400",
            policy=pb.LIMIT_POLICY_SUSPEND,
            currency_code="USD",
        )
        await wallets.stub.SetLimit(pb.SetLimitRequest(request_id=rid(), limit=limit), metadata=wallets.metadata)
    await rate_together(service, [tokens("p1", first), tokens("p2", first), tokens("p3", second)])

    await rate_together(service, [tokens("b1", second), tokens("b2", first), tokens("b3", first)])

    assert await burned_and_recharges(service, first) == (400, 0)
    assert await burned_and_recharges(service, second) == (150, 0)  # its credit ran out
    runtime = service.runtime
    with tenant_scope(service.tenant):
        async with PostgresBillingUnitOfWork(runtime.engine, runtime.clock) as uow:
            account = await uow.usage.account(service.tenant, first)
            assert account is not None
            quantities = {
                customer: [t.quantity for t in await uow.usage.totals(service.tenant, customer, account.period)]
                for customer in (first, second)
            }
    assert quantities == {first: [Decimal(400)], second: [Decimal(200)]}

    async def reached() -> list[bytes]:
        return await published(wallets, "limit.reached")

    (changed,) = [events_pb2.LimitChanged.FromString(data) for data in await eventually(reached)]
    assert (changed.customer_id, changed.denial) == (first, "SPEND_LIMIT_REACHED")
