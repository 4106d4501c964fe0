"""Composition root of the promotions service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc

from azotte.promotions.v1 import promotions_pb2, promotions_pb2_grpc
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units
from azotte_promotions.adapters import proto
from azotte_promotions.adapters.unit_of_work import PostgresPromotionsUnitOfWork
from azotte_promotions.entrypoints.servicer import PromotionsServicer
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer.sweeper import ReservationSweeper
from azotte_promotions.settings import PromotionsSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = promotions_pb2.DESCRIPTOR.services_by_name["PromotionsService"].full_name


@dataclass(frozen=True)
class Promotions:
    """The assembled service: its servicer and the sweep of timed-out reservations."""

    servicer: PromotionsServicer
    sweeper: ReservationSweeper


def settings_of(runtime: Runtime) -> PromotionsSettings:
    settings = runtime.settings
    return settings if isinstance(settings, PromotionsSettings) else PromotionsSettings(**settings.model_dump())


def assemble(runtime: Runtime, settings: PromotionsSettings) -> Promotions:
    """Wire the use cases to a runtime."""

    def uow() -> PromotionsUnitOfWork:
        return PostgresPromotionsUnitOfWork(runtime.engine, "promotions", runtime.clock, proto.to_event)

    sweeper = ReservationSweeper(uow, settings.reservation_sweep_interval_s, settings.reservation_sweep_batch)
    servicer = PromotionsServicer(Units(uow), timedelta(seconds=settings.reservation_ttl_s))
    return Promotions(servicer, sweeper)


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Serve PromotionsService and run the reservation sweep in the background."""
    promotions = assemble(runtime, settings_of(runtime))
    promotions_pb2_grpc.add_PromotionsServiceServicer_to_server(promotions.servicer, server)
    runtime.spawn(promotions.sweeper.run_forever)
    runtime.on_clock_change(promotions.sweeper.on_clock_change)
    return [SERVICE_NAME]


def run() -> None:
    run_service(ServiceSpec("promotions", MIGRATIONS, PromotionsSettings, build))
