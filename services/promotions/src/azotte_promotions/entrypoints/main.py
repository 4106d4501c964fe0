"""Composition root of the promotions service."""

from __future__ import annotations

from pathlib import Path

import grpc

from azotte.promotions.v1 import promotions_pb2, promotions_pb2_grpc
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.settings import ServiceSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Register the (not yet populated) PromotionsService."""
    promotions_pb2_grpc.add_PromotionsServiceServicer_to_server(promotions_pb2_grpc.PromotionsServiceServicer(), server)
    return [promotions_pb2.DESCRIPTOR.services_by_name["PromotionsService"].full_name]


def run() -> None:
    run_service(ServiceSpec("promotions", MIGRATIONS, ServiceSettings, build))
