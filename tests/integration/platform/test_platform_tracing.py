"""With tracing on, a service records a span per call that continues the caller's trace."""

from __future__ import annotations

import asyncio
import secrets
import sys
from pathlib import Path
from typing import Any

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte_platform.context import TENANT_HEADER
from azotte_stack.processes import free_port, spawn, stop
from azotte_stack.readiness import wait_serving
from tests.helpers import eventually


async def test_a_traced_service_continues_the_callers_trace(servers: Any, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "catalog.log"
    service = spawn(
        [str(Path(sys.executable).parent / "azotte-catalog")],
        env={
            "AZOTTE_DATABASE_URL": servers.new_database_url("traced"),
            "AZOTTE_NATS_URL": servers.nats_url,
            "AZOTTE_GRPC_PORT": str(port),
            "AZOTTE_SANDBOX_CLOCK": "false",
            "AZOTTE_TRACE_SAMPLE_RATIO": "1",
            "AZOTTE_TRACE_CONSOLE": "1",
        },
        log_file=log,
    )
    try:
        address = f"127.0.0.1:{port}"
        await wait_serving(address, timeout=60, what="azotte-catalog", process=service, log_file=log)
        async with grpc.aio.insecure_channel(address) as channel:
            trace_id = secrets.token_hex(16)
            metadata = ((TENANT_HEADER, "traced"), ("traceparent", f"00-{trace_id}-{secrets.token_hex(8)}-01"))
            stub = catalog_pb2_grpc.CatalogServiceStub(channel)
            await stub.ListStorefronts(catalog_pb2.ListStorefrontsRequest(), metadata=metadata)

        async def span_printed() -> bool:
            text = await asyncio.to_thread(log.read_text)
            return "/azotte.catalog.v1.CatalogService/ListStorefronts" in text and f"0x{trace_id}" in text

        assert await eventually(span_printed, within=20)
    finally:
        stop(service)
