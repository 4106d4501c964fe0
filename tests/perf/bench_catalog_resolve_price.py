"""ResolvePrice latency and throughput: through gRPC against a running azotte-catalog (warm cache),
and the in-process resolve function alone.

Usage: .venv/bin/python tests/perf/bench_catalog_resolve_price.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import grpc
import uvloop

from azotte.catalog.v1 import catalog_pb2 as pb
from azotte.catalog.v1 import catalog_pb2_grpc
from azotte.common.v1 import channel_pb2
from azotte_catalog.domain.catalog import Catalog, StoredCatalog
from azotte_catalog.domain.diff import diff_catalog
from azotte_catalog.domain.document import DocumentFormat, load_document_text, parse_document
from azotte_catalog.service_layer.view import CatalogView
from azotte_platform.context import TENANT_HEADER
from azotte_platform.enums import Channel
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from azotte_stack.processes import free_port, spawn, stop
from azotte_stack.readiness import wait_serving

DOCUMENT = (Path(__file__).resolve().parents[2] / "docs" / "examples" / "ott-catalog.yaml").read_text()
TENANT = "bench"
METADATA = ((TENANT_HEADER, TENANT),)
KEYS = [
    ("premium_monthly", "us", channel_pb2.CHANNEL_APP_STORE),
    ("premium_monthly", "de", channel_pb2.CHANNEL_WEB),
    ("basic_monthly", "us", channel_pb2.CHANNEL_WEB),
    ("family_monthly", "de", channel_pb2.CHANNEL_GOOGLE_PLAY),
]


def report(name: str, latencies: list[float], elapsed: float) -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1e6
    p99 = ordered[int(len(ordered) * 0.99)] * 1e6
    print(
        f"{name:<44} n={len(ordered):>7}  p50={p50:8.1f}us  p99={p99:8.1f}us  "
        f"mean={statistics.fmean(ordered) * 1e6:8.1f}us  throughput={len(ordered) / elapsed:10.0f}/s"
    )


def bench_in_process(iterations: int) -> None:
    """The cached view's resolve function alone (no gRPC, no database)."""
    now = datetime(2026, 1, 1, tzinfo=UTC)
    document = parse_document(load_document_text(DOCUMENT, DocumentFormat.YAML))
    view = CatalogView.of(StoredCatalog(diff_catalog(Catalog(), document, now).result))
    keys = [
        (plan, sf, Channel.APP_STORE if ch == channel_pb2.CHANNEL_APP_STORE else Channel.WEB) for plan, sf, ch in KEYS
    ]
    latencies = []
    started = time.perf_counter()
    for i in range(iterations):
        plan, storefront, channel = keys[i % len(keys)]
        t0 = time.perf_counter()
        view.resolve_price(plan, storefront, channel, now)
        latencies.append(time.perf_counter() - t0)
    report("in-process CatalogView.resolve_price", latencies, time.perf_counter() - started)


async def bench_grpc(address: str, requests: int, concurrency: int) -> None:
    """ResolvePrice calls from `concurrency` callers sharing one channel."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = catalog_pb2_grpc.CatalogServiceStub(channel)
        calls = [pb.ResolvePriceRequest(plan_id=p, storefront_id=s, channel=c) for p, s, c in KEYS]
        for request in calls:  # warm the tenant's cached view
            await stub.ResolvePrice(request, metadata=METADATA)
        latencies: list[float] = []

        async def caller(index: int) -> None:
            for i in range(index, requests, concurrency):
                t0 = time.perf_counter()
                await stub.ResolvePrice(calls[i % len(calls)], metadata=METADATA)
                latencies.append(time.perf_counter() - t0)

        started = time.perf_counter()
        await asyncio.gather(*(caller(i) for i in range(concurrency)))
        report(f"gRPC ResolvePrice, {concurrency} concurrent caller(s)", latencies, time.perf_counter() - started)


async def main() -> None:
    bench_in_process(100_000)
    with tempfile.TemporaryDirectory(prefix="bench-catalog-") as tmp:
        root = Path(tmp)
        postgres, nats = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
        await asyncio.gather(postgres.start(), nats.start())
        port = free_port()
        address = f"127.0.0.1:{port}"
        service = spawn(
            [str(Path(sys.executable).parent / "azotte-catalog")],
            env={
                "AZOTTE_DATABASE_URL": f"{postgres.url}/azotte_catalog",
                "AZOTTE_NATS_URL": nats.url,
                "AZOTTE_GRPC_PORT": str(port),
                "AZOTTE_SANDBOX_CLOCK": "false",
                "AZOTTE_LOG_LEVEL": "WARNING",
            },
            log_file=root / "catalog.log",
        )
        try:
            await wait_serving(address, timeout=90, what="azotte-catalog")
            async with grpc.aio.insecure_channel(address) as channel:
                await catalog_pb2_grpc.CatalogServiceStub(channel).ApplyCatalog(
                    pb.ApplyCatalogRequest(document=DOCUMENT, request_id="bench"), metadata=METADATA
                )
            await bench_grpc(address, 3_000, 1)
            await bench_grpc(address, 20_000, 32)
        finally:
            stop(service)
            nats.stop()
            postgres.stop()


if __name__ == "__main__":
    uvloop.run(main())
