"""Composition root of the catalog service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_catalog.adapters.proto import outbox_event
from azotte_catalog.adapters.unit_of_work import PostgresCatalogUnitOfWork
from azotte_catalog.service_layer.activation import PriceActivator
from azotte_catalog.service_layer.catalogs import TenantCatalogs
from azotte_catalog.settings import CatalogSettings
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.events.follow import follow_events
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units

from .servicer import CatalogServicer

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"].full_name


@dataclass(frozen=True)
class CatalogService:
    """The parts of a running catalog service."""

    catalogs: TenantCatalogs
    activator: PriceActivator
    servicer: CatalogServicer


def assemble(runtime: Runtime) -> CatalogService:
    """Build the catalog on a runtime and start its background work (activation, cache invalidation)."""
    settings = runtime.settings if isinstance(runtime.settings, CatalogSettings) else CatalogSettings()

    def unit_of_work() -> PostgresCatalogUnitOfWork:
        return PostgresCatalogUnitOfWork(runtime.engine, runtime.service, runtime.clock, outbox_event)

    activator = PriceActivator(
        unit_of_work,
        runtime.clock,
        batch_size=settings.price_activation_batch_size,
        max_idle_seconds=settings.price_activation_max_idle_seconds,
    )
    catalogs = TenantCatalogs(
        unit_of_work, cache_ttl_seconds=settings.catalog_cache_ttl_seconds, on_change=activator.wake
    )

    def on_catalog_event(event: ReceivedEvent) -> None:
        # NOTE: an activation changes no catalog content (resolution already depends on the time).
        if event.type != "price.activated":
            catalogs.cache.invalidate(event.tenant_id)
        if event.type == "price.scheduled":
            activator.wake()

    async def follow() -> None:
        await follow_events(runtime.nats, "catalog", on_catalog_event)

    async def forget_views() -> None:
        catalogs.cache.clear()

    runtime.spawn(follow)
    runtime.on_reconnect(forget_views)
    runtime.spawn(activator.run)
    runtime.on_clock_change(activator.on_clock_change)
    return CatalogService(catalogs, activator, CatalogServicer(Units(unit_of_work), catalogs, runtime.clock))


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Register CatalogService on the server."""
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(assemble(runtime).servicer, server)
    return [SERVICE_NAME]


def run() -> None:
    run_service(ServiceSpec("catalog", MIGRATIONS, CatalogSettings, build))
