"""The promotions service in-process on real PostgreSQL and NATS, served over gRPC, with a fixed clock.

The peers it asks about people (catalog, lifecycle, payments), grants credit with and extends trials with are
the in-memory `FakePeople`, `FakeCredits` and `FakeTrialExtensions`; lifecycle's and metering's events reach it
on their real streams.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest
from pydantic import SecretStr

from azotte.promotions.v1 import promotions_pb2_grpc
from azotte_platform.clock import FixedClock
from azotte_platform.events import nats_connection
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import Runtime, start_runtime
from azotte_promotions.entrypoints.main import MIGRATIONS, Promotions, assemble
from azotte_promotions.settings import PromotionsSettings
from tests.conftest import Servers
from tests.unit.promotions.fakes import FakeCredits, FakePeople, FakeTrialExtensions

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TENANT = "acme"
RESERVATION_TTL_S = 600.0
KEKS = f"k1:{base64.b64encode(b'p' * 32).decode()}"


@dataclass
class Service:
    """A running promotions service: its stub (as TENANT), its clock, its runtime and its parts."""

    runtime: Runtime
    promotions: Promotions
    stub: promotions_pb2_grpc.PromotionsServiceAsyncStub
    clock: FixedClock
    people: FakePeople
    credits: FakeCredits
    trials: FakeTrialExtensions
    metadata: tuple[tuple[str, str], ...] = (("x-azotte-tenant", TENANT),)


@pytest.fixture
async def service(servers: Servers, quiet_nats_url: str) -> AsyncIterator[Service]:
    clock = FixedClock(T0)
    settings = PromotionsSettings(
        database_url=servers.new_database_url("promotions"),
        nats_url=quiet_nats_url,
        sandbox_clock=False,
        db_pool_size=20,
        reservation_ttl_s=RESERVATION_TTL_S,
        promotions_keks=SecretStr(KEKS),
    )
    runtime = await start_runtime("promotions", settings, MIGRATIONS, clock=clock)
    for producer in ("lifecycle", "payments", "metering"):
        await nats_connection.ensure_service_stream(runtime.js, producer)
    people, credits, trials = FakePeople(), FakeCredits(), FakeTrialExtensions()
    promotions = assemble(runtime, settings, people, credits, trials)
    for consumer in promotions.consumers:
        runtime.spawn(consumer.run)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("promotions")])
    promotions_pb2_grpc.add_PromotionsServiceServicer_to_server(promotions.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub: promotions_pb2_grpc.PromotionsServiceAsyncStub = promotions_pb2_grpc.PromotionsServiceStub(channel)
        yield Service(runtime, promotions, stub, clock, people, credits, trials)
    finally:
        await channel.close(None)
        await server.stop(None)
        await runtime.close()
