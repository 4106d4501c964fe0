"""Composition root of the gateway: gRPC and REST over one set of operations."""

from __future__ import annotations

from pathlib import Path

import grpc

from azotte.gateway.v1 import gateway_pb2, gateway_pb2_grpc, tenant_admin_pb2, tenant_admin_pb2_grpc
from azotte_gateway.adapters.peers import Peers
from azotte_gateway.domain.rate_limit import RateLimit
from azotte_gateway.entrypoints.rest.app import create_app, rest_server
from azotte_gateway.entrypoints.servicer import GatewayServicer, TenantAdminServicer
from azotte_gateway.service_layer.access import AccessReader
from azotte_gateway.service_layer.api_keys import bootstrap
from azotte_gateway.service_layer.auth import Authenticator
from azotte_gateway.service_layer.operations import Operations
from azotte_gateway.service_layer.unit_of_work import GatewayUnitOfWork
from azotte_gateway.settings import GatewaySettings
from azotte_platform.events.follow import follow_events
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def build_operations(runtime: Runtime, settings: GatewaySettings, peers: Peers) -> Operations:
    """The gateway's operations over the runtime's database and clock; access answers follow entitlement events."""

    def uow() -> GatewayUnitOfWork:
        return GatewayUnitOfWork(runtime.engine, "gateway", runtime.clock)

    authenticator = Authenticator(
        uow,
        runtime.clock,
        RateLimit(capacity=settings.rate_limit_burst, refill_per_second=settings.rate_limit_per_second),
        cache_seconds=settings.api_key_cache_seconds,
    )
    access = AccessReader(
        peers.entitlement,
        runtime.clock,
        ttl_seconds=settings.access_cache_seconds,
        settle_seconds=settings.access_cache_settle_seconds,
        max_customers=settings.access_cache_max_customers,
    )

    async def follow_entitlements() -> None:
        await follow_events(runtime.nats, "entitlement", access.on_entitlement_event)

    async def forget_access() -> None:
        access.cache.clear()

    runtime.spawn(follow_entitlements)
    runtime.on_clock_change(forget_access)
    runtime.on_reconnect(forget_access)
    return Operations(uow, peers, runtime.clock, authenticator, access, settings.checkout_entitlement_wait_seconds)


def register(operations: Operations, server: grpc.aio.Server) -> list[str]:
    """Add the public services to a gRPC server; returns their full names."""
    gateway_pb2_grpc.add_GatewayServiceServicer_to_server(GatewayServicer(operations), server)
    tenant_admin_pb2_grpc.add_TenantAdminServiceServicer_to_server(TenantAdminServicer(operations), server)
    return [
        gateway_pb2.DESCRIPTOR.services_by_name["GatewayService"].full_name,
        tenant_admin_pb2.DESCRIPTOR.services_by_name["TenantAdminService"].full_name,
    ]


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Bootstrap the sandbox tenant, start REST, and register the gRPC services."""
    settings = runtime.settings
    assert isinstance(settings, GatewaySettings)
    peers = Peers.connect(
        catalog=settings.catalog_addr,
        lifecycle=settings.lifecycle_addr,
        payments=settings.payments_addr,
        entitlement=settings.entitlement_addr,
    )
    operations = build_operations(runtime, settings, peers)
    await bootstrap(operations.uow_factory, settings.state_dir, runtime.clock.now())
    rest = rest_server(create_app(operations), settings.rest_host, settings.rest_port)
    runtime.spawn(rest.serve)
    await rest.wait_started()
    return register(operations, server)


def run() -> None:
    run_service(ServiceSpec("gateway", MIGRATIONS, GatewaySettings, build))
