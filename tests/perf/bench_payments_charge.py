"""Benchmark: CreateCharge throughput and latency through the `azotte-payments` process and a sandbox PSP.

Starts PostgreSQL, NATS, the Stripe-like sandbox PSP and `azotte-payments` as processes, plus a tiny
in-process catalog answering GetStorefront; then sends distinct-key charges with some concurrency.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc

from azotte.catalog.v1 import catalog_pb2, catalog_pb2_grpc
from azotte.common.v1 import channel_pb2, money_pb2
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from azotte_stack.processes import free_port, spawn, stop
from azotte_stack.readiness import wait_listening, wait_serving

CHARGES = 600
CONCURRENCY = 32
WARMUP = 50
TENANT = (("x-azotte-tenant", "bench"),)


def storefront(
    storefront_id: str, country: str, currency: str, mode: catalog_pb2.TaxMode.ValueType, rate: str
) -> catalog_pb2.Storefront:
    """A storefront routed to the Stripe-like PSP."""
    return catalog_pb2.Storefront(
        id=storefront_id,
        country_code=country,
        currency_code=currency,
        tax_policy=catalog_pb2.TaxPolicy(mode=mode, rate=rate),
        payment_routing=catalog_pb2.PaymentRouting(rules=[catalog_pb2.RoutingRule(psps=["stripe_like"])]),
    )


STOREFRONTS = {
    "de": storefront("de", "DE", "EUR", catalog_pb2.TAX_MODE_INCLUSIVE, "0.19"),
    "us": storefront("us", "US", "USD", catalog_pb2.TAX_MODE_EXCLUSIVE, "0"),
}


class Catalog(catalog_pb2_grpc.CatalogServiceServicer):
    """Storefronts "de" (EUR) and "us" (USD), both routed to the Stripe-like PSP."""

    async def GetStorefront(self, request: Any, context: Any) -> catalog_pb2.GetStorefrontResponse:
        if request.id not in STOREFRONTS:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"no storefront {request.id!r}")
        return catalog_pb2.GetStorefrontResponse(storefront=STOREFRONTS[request.id])


def charge_request(customer: str) -> payments_pb2.CreateChargeRequest:
    key = uuid.uuid4().hex
    return payments_pb2.CreateChargeRequest(
        request_id=key,
        idempotency_key=key,
        customer_id=customer,
        storefront_id="de",
        channel=channel_pb2.CHANNEL_WEB,
        plan_id="pro",
        amount=money_pb2.Money(currency_code="EUR", amount_minor=999),
    )


async def run_load(stub: Any, customer: str, count: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            queue.get_nowait()
            started = time.perf_counter()
            response = await stub.CreateCharge(charge_request(customer), metadata=TENANT)
            latencies.append(time.perf_counter() - started)
            assert response.charge.status == payments_pb2.CHARGE_STATUS_SUCCEEDED

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return latencies, time.perf_counter() - started


@contextlib.asynccontextmanager
async def payments_stack(
    root: Path, postgres: EmbeddedPostgres, nats: EmbeddedNats, *, replicas: int = 1
) -> AsyncIterator[str]:
    """The catalog fake, the Stripe-like sandbox PSP and `replicas` `azotte-payments` processes sharing the
    database `azotte_payments`.

    Yields a gRPC target naming every replica once they serve; logs go under `root`. Stops them all on exit.
    """
    catalog = grpc.aio.server()
    catalog_pb2_grpc.add_CatalogServiceServicer_to_server(Catalog(), catalog)  # type: ignore[abstract]
    catalog_port = catalog.add_insecure_port("127.0.0.1:0")
    await catalog.start()
    psp_port = free_port()
    psp = spawn(
        [sys.executable, "-m", "azotte_payments.sandbox_psp", "--kind", "stripe_like", "--port", str(psp_port)],
        log_file=root / "psp.log",
    )
    replicas_started: list[tuple[subprocess.Popen[bytes], str]] = []
    try:
        await wait_listening(psp_port, timeout=30, what="sandbox PSP", process=psp)
        for replica in range(replicas):
            port = free_port()
            process = spawn(
                [str(Path(sys.executable).parent / "azotte-payments")],
                env={
                    "AZOTTE_DATABASE_URL": postgres.database_url("azotte_payments"),
                    "AZOTTE_NATS_URL": nats.url,
                    "AZOTTE_GRPC_PORT": str(port),
                    "AZOTTE_CATALOG_ADDR": f"127.0.0.1:{catalog_port}",
                    "AZOTTE_PSP_STRIPE_LIKE_URL": f"http://127.0.0.1:{psp_port}",
                    "AZOTTE_SANDBOX_CLOCK": "false",
                    "AZOTTE_LOG_LEVEL": "WARNING",
                    "AZOTTE_DB_POOL_SIZE": "20",
                },
                log_file=root / f"payments-{replica}.log",
            )
            replicas_started.append((process, f"127.0.0.1:{port}"))
            # NOTE: one after the other, so that the first runs the migrations alone.
            await wait_serving(f"127.0.0.1:{port}", timeout=60, what="azotte-payments", process=process)
        yield "ipv4:" + ",".join(address for _, address in replicas_started)
    finally:
        for process, _ in replicas_started:
            stop(process)
        stop(psp)
        await catalog.stop(None)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        postgres, nats = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
        await asyncio.gather(postgres.start(), nats.start())
        try:
            async with (
                payments_stack(root, postgres, nats) as address,
                grpc.aio.insecure_channel(address) as channel,
            ):
                stub: Any = payments_pb2_grpc.PaymentsServiceStub(channel)
                await stub.CreatePaymentMethod(
                    payments_pb2.CreatePaymentMethodRequest(
                        request_id="pm-1",
                        customer_id="cus_bench",
                        type=payments_pb2.PAYMENT_METHOD_TYPE_CARD,
                        token="tok_success",
                    ),
                    metadata=TENANT,
                )
                await run_load(stub, "cus_bench", WARMUP)
                latencies, elapsed = await run_load(stub, "cus_bench", CHARGES)
        finally:
            nats.stop()
            postgres.stop()
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"CreateCharge via stripe_like sandbox: {CHARGES} charges, concurrency {CONCURRENCY}")
    print(f"  throughput {CHARGES / elapsed:.0f} charges/s")
    print(f"  latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")


if __name__ == "__main__":
    asyncio.run(main())
