"""The lifecycle service in-process on real PostgreSQL and NATS, with fake catalog and payments."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import grpc
import pytest

from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte_lifecycle.adapters.catalog import PlanInfo, Price
from azotte_lifecycle.adapters.payments import RenewalChargeRequest
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import Channel
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.entrypoints.main import MIGRATIONS, Lifecycle, assemble
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.clock import FixedClock
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import Runtime, start_runtime

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TENANT = "acme"
MONTHLY = BillingInterval(IntervalUnit.MONTH)


class FakeCatalog:
    """Plans basic ($10, rank 1), premium ($20, rank 2), trial ($10, 14-day trial), all monthly USD."""

    plans = {
        "basic": (PlanInfo("basic", MONTHLY, 1, 0), 1000),
        "premium": (PlanInfo("premium", MONTHLY, 2, 0), 2000),
        "trial": (PlanInfo("trial", MONTHLY, 1, 14), 1000),
    }

    async def plan(self, tenant_id: str, plan_id: str) -> PlanInfo:
        return self.plans[plan_id][0]

    async def price(self, tenant_id: str, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> Price:
        return Price(self.plans[plan_id][1], "USD")


@dataclass
class FakePayments:
    """Charges once per idempotency key; the outcome of each new key is scripted (default approved)."""

    script: list[ChargeOutcome | None] = field(default_factory=list)
    results: dict[str, ChargeOutcome | None] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    charged: Counter[str] = field(default_factory=Counter)
    gate: asyncio.Event | None = None
    payment_method: bool = True
    amounts: dict[str, int] = field(default_factory=dict)
    credits: dict[str, int] = field(default_factory=dict)

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        return list(
            await asyncio.gather(*(self._charge(r.charge.idempotency_key, r.charge.amount_minor) for r in requests))
        )

    async def charge_plan_change(
        self, subscription: Subscription, new_plan_id: str, amount_minor: int, idempotency_key: str
    ) -> ChargeOutcome | None:
        return await self._charge(idempotency_key, amount_minor)

    async def credit(self, subscription: Subscription, amount_minor: int, request_id: str, reason: str) -> None:
        self.credits.setdefault(request_id, amount_minor)

    async def _charge(self, key: str, amount_minor: int) -> ChargeOutcome | None:
        self.calls[key] += 1
        if key not in self.results:
            self.results[key] = self.script.pop(0) if self.script else ChargeOutcome.SUCCEEDED
            self.charged[key] += 1
            self.amounts[key] = amount_minor
        if self.gate is not None:
            await self.gate.wait()
        return self.results[key]

    async def has_payment_method(self, tenant_id: str, customer_id: str) -> bool:
        return self.payment_method


@dataclass
class Service:
    """A running lifecycle service and its test doubles."""

    runtime: Runtime
    lifecycle: Lifecycle
    stub: lifecycle_pb2_grpc.LifecycleServiceStub
    clock: FixedClock
    payments: FakePayments
    metadata: tuple[tuple[str, str], ...] = (("x-azotte-tenant", TENANT),)


@pytest.fixture
async def service(servers) -> AsyncIterator[Service]:
    clock = FixedClock(T0)
    settings = LifecycleSettings(
        database_url=servers.new_database_url("lifecycle"), nats_url=servers.nats_url, sandbox_clock=False
    )
    runtime = await start_runtime("lifecycle", settings, MIGRATIONS, clock=clock)
    payments = FakePayments()
    lifecycle = assemble(runtime, FakeCatalog(), payments, settings)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("lifecycle")])
    lifecycle_pb2_grpc.add_LifecycleServiceServicer_to_server(lifecycle.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield Service(runtime, lifecycle, lifecycle_pb2_grpc.LifecycleServiceStub(channel), clock, payments)
    finally:
        await channel.close()
        await server.stop(None)
        await runtime.close()
