"""Renewal throughput: 10,000 due subscriptions, one scheduler sweep, charges over gRPC to a fake payments."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import uvloop

from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_lifecycle.adapters.payments import GrpcPayments
from azotte_lifecycle.domain.periods import BillingInterval, IntervalUnit
from azotte_lifecycle.domain.states import BillingOrigin, Channel
from azotte_lifecycle.domain.subscription import PlanTerms, Subscription
from azotte_lifecycle.entrypoints.main import MIGRATIONS
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from azotte_lifecycle.service_layer.unit_of_work import LifecycleUnitOfWork
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.clock import FixedClock
from azotte_platform.runtime import start_runtime
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres

COUNT = 10_000
T0 = datetime(2025, 1, 1, tzinfo=UTC)
PLAN = PlanTerms("basic", 1000, "USD", BillingInterval(IntervalUnit.MONTH))


class ApprovingPayments(payments_pb2_grpc.PaymentsServiceServicer):
    """Approves every charge; one charge per idempotency key."""

    def __init__(self) -> None:
        self.keys: set[str] = set()

    async def CreateCharge(self, request: Any, context: Any) -> payments_pb2.CreateChargeResponse:
        self.keys.add(request.idempotency_key)
        charge = payments_pb2.Charge(
            id=request.idempotency_key,
            status=payments_pb2.CHARGE_STATUS_SUCCEEDED,
            outcome=payments_pb2.DECLINE_OUTCOME_APPROVED,
        )
        return payments_pb2.CreateChargeResponse(charge=charge)


async def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-lifecycle-"))
    postgres, nats = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
    await postgres.start()
    await nats.start()
    payments = ApprovingPayments()
    server = grpc.aio.server()
    payments_pb2_grpc.add_PaymentsServiceServicer_to_server(payments, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    clock = FixedClock(T0)
    settings = LifecycleSettings(database_url=f"{postgres.url}/lifecycle", nats_url=nats.url, sandbox_clock=False)
    runtime = await start_runtime("lifecycle", settings, MIGRATIONS, clock=clock)
    try:

        def uow() -> LifecycleUnitOfWork:
            return LifecycleUnitOfWork(runtime.engine, "lifecycle", clock)

        async with uow() as seed:
            for start in range(0, COUNT, 1000):
                for n in range(start, start + 1000):
                    sub = Subscription.create(
                        subscription_id=f"sub_{n:06d}",
                        tenant_id=f"tenant{n % 10}",
                        customer_id=f"cus_{n}",
                        plan=PLAN,
                        storefront_id="us",
                        channel=Channel.WEB,
                        billing_origin=BillingOrigin.AZOTTE_BILLED,
                        now=T0,
                    )
                    sub.pull_events()  # seeding is not measured: no creation events to relay
                    await seed.subscriptions.add(sub, T0)
            await seed.commit()
        clock.advance(timedelta(days=32))
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        scheduler = Scheduler(uow, GrpcPayments(channel), clock, SchedulerSettings())
        started = time.perf_counter()
        result = await scheduler.sweep()
        elapsed = time.perf_counter() - started
        assert (result.processed, result.remaining, len(payments.keys)) == (COUNT, 0, COUNT)
        print(f"renewals: {result.processed} in {elapsed:.2f}s = {result.processed / elapsed:.0f} renewals/s")
        print("payments: in-process fake PaymentsService over gRPC (approves every charge)")
        await channel.close()
    finally:
        await runtime.close()
        await server.stop(None)
        nats.stop()
        postgres.stop()


if __name__ == "__main__":
    uvloop.run(main())
