"""The lifecycle service in-process on real PostgreSQL and NATS, with fake catalog and payments."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest

from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte_lifecycle.entrypoints.main import MIGRATIONS, Lifecycle, assemble
from azotte_lifecycle.settings import LifecycleSettings
from azotte_platform.clock import FixedClock
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import Runtime, start_runtime
from tests.conftest import Servers
from tests.unit.lifecycle.fakes import FakeCatalog, FakePayments

T0 = datetime(2025, 1, 1, tzinfo=UTC)
TENANT = "acme"


@dataclass
class Service:
    """A running lifecycle service and its test doubles."""

    runtime: Runtime
    lifecycle: Lifecycle
    stub: lifecycle_pb2_grpc.LifecycleServiceAsyncStub
    clock: FixedClock
    payments: FakePayments
    metadata: tuple[tuple[str, str], ...] = (("x-azotte-tenant", TENANT),)


@pytest.fixture
async def service(servers: Servers) -> AsyncIterator[Service]:
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
        await channel.close(None)
        await server.stop(None)
        await runtime.close()
