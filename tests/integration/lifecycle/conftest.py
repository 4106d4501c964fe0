"""The lifecycle service in-process on real PostgreSQL and NATS, with fake catalog and payments."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import grpc
import pytest

from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte_lifecycle.adapters.catalog import PlanInfo, Price
from azotte_lifecycle.adapters.payments import RenewalChargeRequest
from azotte_lifecycle.domain.dunning import ChargeOutcome
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.refunds import PaidCharge, RefundLeg
from azotte_lifecycle.domain.states import Channel
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.entrypoints.main import MIGRATIONS, Lifecycle, assemble
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.clock import FixedClock
from azotte_platform.errors import Unavailable
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.request_ids import require_request_id
from azotte_platform.runtime import Runtime, start_runtime

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ADDED_TAX = {"us-tx": Decimal("0.0825")}
TENANT = "acme"
MONTHLY = BillingInterval(IntervalUnit.MONTH)


class FakeCatalog:
    """Plans basic ($10, rank 1), premium ($20, rank 2), trial ($10, 14-day trial), all monthly USD.

    Storefront "us-tx" adds 8.25 % tax on top of its prices; the others' prices include tax.
    """

    plans = {
        "basic": (PlanInfo("basic", MONTHLY, 1, 0), 1000),
        "premium": (PlanInfo("premium", MONTHLY, 2, 0), 2000),
        "trial": (PlanInfo("trial", MONTHLY, 1, 14), 1000),
    }

    async def plan(self, tenant_id: str, plan_id: str) -> PlanInfo:
        return self.plans[plan_id][0]

    async def price(self, tenant_id: str, plan_id: str, storefront_id: str, channel: Channel, at: datetime) -> Price:
        return Price(self.plans[plan_id][1], "USD", ADDED_TAX.get(storefront_id, Decimal(0)))


@dataclass(frozen=True)
class FakeCharge:
    """A succeeded charge: checkout ones pay for no subscription, lifecycle ones for a (subscription, period)."""

    charge_id: str
    amount_minor: int
    created_at: datetime
    subscription_id: str = ""
    period_index: int = 0


@dataclass
class FakePayments:
    """Charges once per idempotency key; the outcome of each new key is scripted (default approved).

    Refunds are kept once per request id (all to the card); `unavailable` refuses them, `lost_answers`
    makes that many refunds answer UNAVAILABLE after the money moved.
    """

    script: list[ChargeOutcome | None] = field(default_factory=list)
    results: dict[str, ChargeOutcome | None] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    charged: Counter[str] = field(default_factory=Counter)
    gate: asyncio.Event | None = None
    payment_method: bool = True
    amounts: dict[str, int] = field(default_factory=dict)
    credits: dict[str, int] = field(default_factory=dict)
    paid: dict[str, FakeCharge] = field(default_factory=dict)
    refunds: dict[str, tuple[RefundLeg, str]] = field(default_factory=dict)
    refund_calls: int = 0
    unavailable: bool = False
    lost_answers: int = 0

    async def charge_renewals(self, requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        return list(await asyncio.gather(*(self._renew(request) for request in requests)))

    async def _renew(self, request: RenewalChargeRequest) -> ChargeOutcome | None:
        key, sub = request.charge.idempotency_key, request.subscription
        return await self._charge(key, request.charge.amount_minor, (sub.id, request.charge.period_index))

    async def charge_plan_change(
        self, subscription: Subscription, new_plan_id: str, amount_minor: int, idempotency_key: str
    ) -> ChargeOutcome | None:
        return await self._charge(idempotency_key, amount_minor, (subscription.id, subscription.period_index))

    async def credit(self, subscription: Subscription, amount_minor: int, request_id: str, reason: str) -> None:
        require_request_id(request_id)  # as payments' GrantCredit does
        self.credits.setdefault(request_id, amount_minor)

    async def _charge(self, key: str, amount_minor: int, pays_for: tuple[str, int]) -> ChargeOutcome | None:
        self.calls[key] += 1
        if key not in self.results:
            self.results[key] = self.script.pop(0) if self.script else ChargeOutcome.SUCCEEDED
            self.charged[key] += 1
            self.amounts[key] = amount_minor
            if self.results[key] is ChargeOutcome.SUCCEEDED:
                self._add(key, amount_minor, *pays_for)
        if self.gate is not None:
            await self.gate.wait()
        return self.results[key]

    async def has_payment_method(self, tenant_id: str, customer_id: str) -> bool:
        return self.payment_method

    def checkout_charge(self, amount_minor: int) -> str:
        """A succeeded charge made before any subscription existed (as the gateway's checkout makes)."""
        return self._add(f"ch_checkout_{len(self.paid)}", amount_minor)

    def refunded(self) -> dict[str, int]:
        """Minor units refunded per charge."""
        totals: Counter[str] = Counter()
        for leg, _ in self.refunds.values():
            totals[leg.charge_id] += leg.amount_minor
        return dict(totals)

    async def paid_charges(self, subscription: Subscription, also: Sequence[str], reason: str) -> list[PaidCharge]:
        if self.unavailable:
            raise Unavailable("payments is unavailable")
        sub = subscription
        found = [c for c in self.paid.values() if (c.subscription_id, c.period_index) == (sub.id, sub.period_index)]
        found += [self.paid[charge_id] for charge_id in also if charge_id in self.paid]
        return [self._paid_charge(charge, reason) for charge in found]

    async def refund(self, subscription: Subscription, leg: RefundLeg, request_id: str, reason: str) -> None:
        self.refund_calls += 1
        if self.unavailable:
            raise Unavailable("payments is unavailable")
        self.refunds.setdefault(request_id, (leg, reason))
        if self.lost_answers:
            self.lost_answers -= 1
            raise Unavailable("the refund's answer was lost")

    def _add(self, charge_id: str, amount_minor: int, subscription_id: str = "", period_index: int = 0) -> str:
        # NOTE: each charge is a second newer than the one before it.
        created_at = T0 + timedelta(seconds=len(self.paid))
        self.paid[charge_id] = FakeCharge(charge_id, amount_minor, created_at, subscription_id, period_index)
        return charge_id

    def _paid_charge(self, charge: FakeCharge, reason: str) -> PaidCharge:
        legs = [(leg, why) for leg, why in self.refunds.values() if leg.charge_id == charge.charge_id]
        mine = sum(leg.amount_minor for leg, why in legs if why == reason)
        others = sum(leg.amount_minor for leg, why in legs if why != reason)
        return PaidCharge(charge.charge_id, charge.created_at, charge.amount_minor - others, 0, mine)


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
