"""Composition root of the metering service."""

from __future__ import annotations

from pathlib import Path

import grpc

from azotte.metering.v1 import metering_pb2, metering_pb2_grpc
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Register the (not yet populated) MeteringService."""
    metering_pb2_grpc.add_MeteringServiceServicer_to_server(metering_pb2_grpc.MeteringServiceServicer(), server)
    return [metering_pb2.DESCRIPTOR.services_by_name["MeteringService"].full_name]


def run() -> None:
    run_service(ServiceSpec("metering", MIGRATIONS, ServiceSettings, build))
