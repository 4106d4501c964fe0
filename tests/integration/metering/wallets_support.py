"""The usage-billing half of metering beside the metering service of `conftest.py`: WalletsService over gRPC,
its consumers of `usage.recorded` and lifecycle events on the real NATS streams, and payments faked."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import grpc

from azotte.common.v1 import money_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte.lifecycle.v1 import lifecycle_pb2
from azotte.metering.v1 import wallets_pb2 as pb
from azotte.metering.v1 import wallets_pb2_grpc
from azotte_metering.entrypoints import billing
from azotte_platform.convert import timestamp
from azotte_platform.events.envelope import binary_headers, stream_name, subject_for
from azotte_platform.grpc.interceptors import ServiceInterceptor
from tests.integration.metering.conftest import Service
from tests.integration.metering.metering_support import rid
from tests.unit.metering.billing_fakes import FakeLifecycle, FakePayments, FakeQuotaResets


@dataclass
class Wallets:
    """WalletsService of the running metering service, and the payments it charges."""

    service: Service
    stub: wallets_pb2_grpc.WalletsServiceAsyncStub
    payments: FakePayments
    usage_billing: billing.UsageBilling

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return self.service.metadata


@asynccontextmanager
async def serving_wallets(service: Service) -> AsyncIterator[Wallets]:
    """Serve WalletsService and start the usage-billing consumers on `service`'s runtime."""
    payments = FakePayments()
    usage_billing = billing.assemble(service.runtime, payments, FakeLifecycle(), FakeQuotaResets())
    await billing.start(service.runtime, usage_billing)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("metering")])
    wallets_pb2_grpc.add_WalletsServiceServicer_to_server(usage_billing.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub: wallets_pb2_grpc.WalletsServiceAsyncStub = wallets_pb2_grpc.WalletsServiceStub(channel)
        yield Wallets(service, stub, payments, usage_billing)
    finally:
        await channel.close(None)
        await server.stop(None)


async def subscribe(
    wallets: Wallets, customer: str, start: datetime, end: datetime, *, plan: str = "plan_ai", event: str = ""
) -> None:
    """Publish lifecycle's subscription event the way its outbox relay does: the customer on `plan` in
    storefront `sf_us` (USD) for [start, end)."""
    service = wallets.service
    subscription = lifecycle_pb2.Subscription(
        id=f"sub-{customer}",
        customer_id=customer,
        plan_id=plan,
        storefront_id="sf_us",
        current_period_start_time=timestamp(start),
        current_period_end_time=timestamp(end),
        renewal_price=money_pb2.Money(currency_code="USD", amount_minor=2000),
    )
    payload = lifecycle_events.SubscriptionEvent(subscription=subscription, occur_time=timestamp(start))
    event_type = event or "subscription.created"
    headers = binary_headers(
        event_id=str(uuid.uuid4()),
        event_type=event_type,
        source="azotte/lifecycle",
        tenant_id=service.tenant,
        time=start,
        data_schema=payload.DESCRIPTOR.full_name,
    )
    await service.runtime.js.publish(
        subject_for("lifecycle", service.tenant, event_type), payload.SerializeToString(), headers=headers
    )


async def published(wallets: Wallets, event_type: str) -> list[bytes]:
    """The payloads of the tenant's metering events of a type published so far."""
    js = wallets.service.runtime.js
    subject = f"azotte.{wallets.service.tenant}.metering.{event_type}"
    info = await js.stream_info(stream_name("metering"), subjects_filter=subject)
    if not info.state.messages:
        return []
    consumer = await js.pull_subscribe(subject, stream=stream_name("metering"))
    try:
        messages = await consumer.fetch(info.state.messages, timeout=2)
    finally:
        await consumer.unsubscribe()
    return [message.data for message in messages]


def usd(amount_minor: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", amount_minor=amount_minor)


def graduated_price(meter: str, **dimensions: str) -> pb.UsagePrice:
    """Stripe's Typographic tiers in cents per unit: 1-5 at 700, 6-10 at 650, 11+ at 600."""
    return pb.UsagePrice(
        storefront_id="sf_us",
        plan_id="plan_ai",
        meter_key=meter,
        dimensions=dimensions,
        currency_code="USD",
        model=pb.PRICING_MODEL_GRADUATED,
        tiers=[
            pb.PriceTier(up_to="5", unit_price="700"),
            pb.PriceTier(up_to="10", unit_price="650"),
            pb.PriceTier(unit_price="600"),
        ],
    )


async def grant_and_recharge(
    wallets: Wallets, customer: str, credit: int, *, recharge_below: int = 0, recharge: int = 0
) -> None:
    """Grant `customer` `credit` USD minor units and, when `recharge` is given, an auto-recharge of that much
    whenever the balance falls below `recharge_below`."""
    await wallets.stub.GrantCredit(
        pb.GrantCreditRequest(request_id=rid(), customer_id=customer, amount=usd(credit)), metadata=wallets.metadata
    )
    if recharge:
        await wallets.stub.SetAutoRecharge(
            pb.SetAutoRechargeRequest(
                request_id=rid(),
                customer_id=customer,
                currency_code="USD",
                auto_recharge=pb.AutoRecharge(threshold=usd(recharge_below), amount=usd(recharge)),
            ),
            metadata=wallets.metadata,
        )
