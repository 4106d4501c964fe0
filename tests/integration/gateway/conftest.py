"""An in-process gateway on real PostgreSQL and NATS, in front of fake services."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte.catalog.v1 import catalog_pb2_grpc
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte.lifecycle.v1 import lifecycle_pb2_grpc
from azotte.payments.v1 import payments_pb2_grpc
from azotte.promotions.v1 import promotions_pb2_grpc
from azotte_gateway.adapters.peers import GrpcPeers
from azotte_gateway.entrypoints.main import MIGRATIONS, build_gateway, register
from azotte_gateway.entrypoints.rest.app import create_app
from azotte_gateway.service_layer.admin import SANDBOX_KEY_FILE, SANDBOX_TENANT_ID
from azotte_gateway.service_layer.gateway import Gateway
from azotte_gateway.settings import GatewaySettings
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_platform.grpc.interceptors import ServiceInterceptor
from azotte_platform.runtime import start_runtime
from tests.integration.gateway.gateway_fakes import (
    FakeCatalog,
    FakeEntitlement,
    FakeLifecycle,
    FakePayments,
    FakePromotions,
    FakeWorld,
)

# NOTE: a customer lifecycle knows in the sandbox tenant, for calls that need any existing customer.
REGISTERED_CUSTOMER = "c1"


@dataclass
class GatewayUnderTest:
    """A running gateway: its areas, REST client, gRPC address, admin key and the fake services' state."""

    areas: Gateway
    http: httpx.AsyncClient
    grpc_target: str
    admin_key: str
    world: FakeWorld
    state_dir: Path

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    async def new_key(self, role: str, key: str | None = None) -> str:
        body = {"request_id": uuid.uuid4().hex, "display_name": f"{role} key", "role": role}
        answer = await self.http.post("/v1/api-keys", json=body, headers=self.auth(key))
        assert answer.status_code == 200, answer.text
        return str(answer.json()["secret"])


async def _fake_services(world: FakeWorld) -> tuple[grpc.aio.Server, str]:
    server = grpc.aio.server(interceptors=[ServiceInterceptor("fakes")])
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(FakeCatalog(), server)  # type: ignore[abstract]
    payments_pb2_grpc.add_PaymentsServiceServicer_to_server(FakePayments(world), server)  # type: ignore[abstract]
    lifecycle_pb2_grpc.add_LifecycleServiceServicer_to_server(FakeLifecycle(world), server)  # type: ignore[abstract]
    entitlement_pb2_grpc.add_EntitlementServiceServicer_to_server(FakeEntitlement(world), server)  # type: ignore[abstract]
    promotions_pb2_grpc.add_PromotionsServiceServicer_to_server(FakePromotions(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def running_gateway(servers: Any, state_dir: Path, **overrides: Any) -> AsyncIterator[GatewayUnderTest]:
    """Start a gateway (REST through ASGI, gRPC on a free port) in this process."""
    world = FakeWorld()
    world.customers.add((SANDBOX_TENANT_ID, REGISTERED_CUSTOMER))
    fakes, fakes_addr = await _fake_services(world)
    settings = GatewaySettings(
        database_url=servers.new_database_url("gateway"),
        nats_url=servers.nats_url,
        state_dir=state_dir,
        checkout_entitlement_wait_seconds=1.0,
        **overrides,
    )
    runtime = await start_runtime("gateway", settings, MIGRATIONS)
    peers = GrpcPeers.connect(
        catalog=fakes_addr, lifecycle=fakes_addr, payments=fakes_addr, entitlement=fakes_addr, promotions=fakes_addr
    )
    areas = build_gateway(runtime, settings, peers)
    await areas.admin.bootstrap(state_dir)
    server = grpc.aio.server(interceptors=[ServiceInterceptor("gateway")])
    register(areas, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    transport = httpx.ASGITransport(app=create_app(areas))
    http = httpx.AsyncClient(transport=transport, base_url="http://gateway")
    admin_key = (state_dir / SANDBOX_KEY_FILE).read_text().strip()
    try:
        yield GatewayUnderTest(areas, http, f"127.0.0.1:{port}", admin_key, world, state_dir)
    finally:
        await http.aclose()
        await server.stop(None)
        await peers.close()
        await fakes.stop(None)
        await runtime.close()


@pytest.fixture(scope="module")
async def gateway(servers: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayUnderTest]:
    async with running_gateway(servers, tmp_path_factory.mktemp("gateway-state")) as running:
        yield running


@pytest.fixture
async def engine(servers: Any) -> AsyncIterator[AsyncEngine]:
    """A fresh gateway database, migrated."""
    url = servers.new_database_url("gateway")
    await migrate(MIGRATIONS, url)
    engine = create_engine(url, pool_size=10)
    yield engine
    await engine.dispose()
