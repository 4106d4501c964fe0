"""Composition root of the metering service."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import grpc

from azotte.metering.v1 import metering_pb2, metering_pb2_grpc
from azotte_metering.adapters import proto
from azotte_metering.adapters.partitions import MonthlyPartitions
from azotte_metering.adapters.unit_of_work import PostgresMeteringUnitOfWork
from azotte_metering.domain.ingest_partitions import Replica
from azotte_metering.entrypoints import billing
from azotte_metering.entrypoints.ingest_consumer import IngestConsumer
from azotte_metering.entrypoints.servicer import MeteringServicer
from azotte_metering.ports import MeteringUnitOfWork
from azotte_metering.service_layer.ingest import GroupCommit, InFlight
from azotte_metering.service_layer.retention import DedupSweeper
from azotte_metering.settings import MeteringSettings
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.service_kit import Units

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = metering_pb2.DESCRIPTOR.services_by_name["MeteringService"].full_name


@dataclass(frozen=True)
class Metering:
    """The assembled service: its servicer, the NATS ingest consumer and the sweep of old dedup ids."""

    servicer: MeteringServicer
    ingest_consumer: IngestConsumer
    dedup_sweeper: DedupSweeper
    uow: Units[MeteringUnitOfWork]


def settings_of(runtime: Runtime) -> MeteringSettings:
    settings = runtime.settings
    return settings if isinstance(settings, MeteringSettings) else MeteringSettings(**settings.model_dump())


def assemble(runtime: Runtime, settings: MeteringSettings) -> Metering:
    """Wire the use cases to a runtime."""
    partitions = MonthlyPartitions(runtime.engine)

    def uow() -> MeteringUnitOfWork:
        return PostgresMeteringUnitOfWork(runtime.engine, runtime.clock, proto.to_event, partitions)

    in_flight = InFlight(settings.ingest_max_in_flight_events, settings.ingest_retry_after_s)
    units = Units(uow)
    group = GroupCommit(uow, lanes=settings.ingest_lanes)
    servicer = MeteringServicer(units, in_flight, group)
    replica = Replica.parse(settings.metering_replica, settings.ingest_partitions)
    consumer = IngestConsumer(
        runtime.js, group, in_flight, settings.ingest_nats_batch, replica.partitions(settings.ingest_partitions)
    )
    sweeper = DedupSweeper(uow, runtime.clock, settings.dedup_sweep_interval_s, settings.dedup_sweep_batch)
    return Metering(servicer, consumer, sweeper, units)


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Serve MeteringService and consume the NATS ingest subject in the background."""
    metering = assemble(runtime, settings_of(runtime))
    metering_pb2_grpc.add_MeteringServiceServicer_to_server(metering.servicer, server)
    runtime.spawn(metering.ingest_consumer.run)
    runtime.spawn(metering.dedup_sweeper.run_forever)
    return [SERVICE_NAME, *await billing.serve(runtime, server)]


def run() -> None:
    run_service(ServiceSpec("metering", MIGRATIONS, MeteringSettings, build))
