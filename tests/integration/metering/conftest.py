"""The metering service in-process on real PostgreSQL and NATS, served over gRPC, with a fixed clock."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import grpc
import pytest

from azotte.metering.v1 import metering_pb2_grpc
from azotte_metering.entrypoints.main import MIGRATIONS, Metering, assemble
from azotte_metering.settings import MeteringSettings
from azotte_platform.clock import FixedClock
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import Runtime, start_runtime
from tests.conftest import Servers

T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
TENANT = "acme"
PARTITIONS = 4
"""The NATS ingest log's partitions in these tests (one replica takes them all)."""


@dataclass
class Service:
    """A running metering service: its stub (as TENANT), its clock, its runtime and its parts."""

    runtime: Runtime
    metering: Metering
    stub: metering_pb2_grpc.MeteringServiceAsyncStub
    clock: FixedClock
    tenant: str = TENANT

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("x-azotte-tenant", self.tenant),)


@pytest.fixture
async def service(servers: Servers, quiet_nats_url: str) -> AsyncIterator[Service]:
    clock = FixedClock(T0)
    settings = MeteringSettings(
        database_url=servers.new_database_url("metering"),
        nats_url=quiet_nats_url,
        sandbox_clock=False,
        db_pool_size=10,
        ingest_partitions=PARTITIONS,
    )
    runtime = await start_runtime("metering", settings, MIGRATIONS, clock=clock)
    metering = assemble(runtime, settings)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("metering")])
    metering_pb2_grpc.add_MeteringServiceServicer_to_server(metering.servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        stub: metering_pb2_grpc.MeteringServiceAsyncStub = metering_pb2_grpc.MeteringServiceStub(channel)
        # NOTE: NATS is shared by the session's tests: a tenant of its own keeps this test's events apart.
        yield Service(runtime, metering, stub, clock, f"{TENANT}-{uuid.uuid4().hex[:8]}")
    finally:
        await channel.close(None)
        await server.stop(None)
        await runtime.close()
