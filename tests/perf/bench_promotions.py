"""Benchmark: promotions validate and redeem latency, redemptions/s, and the time to generate 100,000 codes.

Starts PostgreSQL, NATS and `azotte-promotions` as processes, then measures, each beside a baseline taken in
the same run on the same process and client:

- baseline: GetPromotion (one primary-key read in a unit of work, the floor of any call);
- ValidateCode of a shared code (code lookup, promotion, usage and customer counts, the rules);
- a checkout's ReserveRedemption + ConfirmRedemption on ONE shared code of ONE promotion, with
  `--concurrency` checkouts in flight: the worst case, every reservation queues on the promotion's row;
- the same spread over `--promotions` promotions (how far it scales when checkouts do not share one);
- CreateCodeBatch of 100,000 codes in one call, beside generating the same codes in Python alone.

Run: .venv/bin/python tests/perf/bench_promotions.py [--checkouts N] [--concurrency C] [--promotions P]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte.promotions.v1 import promotions_pb2_grpc
from azotte_promotions.domain.codes import generate
from azotte_stack.nats import EmbeddedNats
from azotte_stack.postgres import EmbeddedPostgres
from azotte_stack.processes import free_port, spawn, stop
from azotte_stack.readiness import wait_serving

TENANT = (("x-azotte-tenant", "bench"),)
BATCH = 100_000


def report(name: str, latencies: list[float], elapsed: float | None = None, unit: str = "/s") -> None:
    ordered = sorted(latencies)
    p50 = ordered[len(ordered) // 2] * 1e3
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3
    rate = f"  throughput={len(ordered) / elapsed:8.0f}{unit}" if elapsed else ""
    print(
        f"{name:<58} n={len(ordered):>6}  p50={p50:7.2f}ms  p99={p99:7.2f}ms  "
        f"mean={statistics.fmean(ordered) * 1e3:7.2f}ms{rate}",
        flush=True,
    )


def checkout(customer: str) -> pb.Checkout:
    return pb.Checkout(
        customer_id=customer,
        plan_id="premium",
        product_line="video",
        storefront_id="us",
        country_code="US",
        channel=channel_pb2.CHANNEL_WEB,
        amount=Money(currency_code="USD", amount_minor=999),
    )


async def timed(count: int, concurrency: int, call: Callable[[int], Awaitable[Any]]) -> tuple[list[float], float]:
    """Run `call(i)` for i < count with `concurrency` in flight; each call's latency and the wall time."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            started = time.perf_counter()
            await call(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def promotion(stub: Any, code: str) -> str:
    created = await stub.CreatePromotion(
        pb.CreatePromotionRequest(
            request_id=uuid.uuid4().hex,
            promotion=pb.Promotion(
                display_name=code,
                discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=2_000),
                limits=pb.Limits(budgets=[Money(currency_code="USD", amount_minor=10**12)]),
            ),
        ),
        metadata=TENANT,
    )
    promotion_id: str = created.promotion.id
    await stub.ActivatePromotion(
        pb.ActivatePromotionRequest(request_id=uuid.uuid4().hex, promotion_id=promotion_id), metadata=TENANT
    )
    await stub.CreatePromotionCode(
        pb.CreatePromotionCodeRequest(request_id=uuid.uuid4().hex, promotion_id=promotion_id, code=code),
        metadata=TENANT,
    )
    return promotion_id


async def run(args: argparse.Namespace, stub: Any) -> None:
    first = await promotion(stub, "BENCH0")
    codes = ["BENCH0"] + [f"BENCH{n}" for n in range(1, args.promotions)]
    for code in codes[1:]:
        await promotion(stub, code)

    async def get(_: int) -> None:
        await stub.GetPromotion(pb.GetPromotionRequest(promotion_id=first), metadata=TENANT)

    async def validate(index: int) -> None:
        answer = await stub.ValidateCode(
            pb.ValidateCodeRequest(code="bench0", checkout=checkout(f"v{index}")), metadata=TENANT
        )
        assert answer.validation.eligible

    def redeem(pick: Callable[[int], str]) -> Callable[[int], Awaitable[None]]:
        async def call(index: int) -> None:
            customer = uuid.uuid4().hex
            reserved = await stub.ReserveRedemption(
                pb.ReserveRedemptionRequest(request_id=customer, code=pick(index), checkout=checkout(customer)),
                metadata=TENANT,
            )
            await stub.ConfirmRedemption(
                pb.ConfirmRedemptionRequest(
                    request_id=customer, redemption_id=reserved.redemption.id, charge_id=f"ch-{customer}"
                ),
                metadata=TENANT,
            )

        return call

    await timed(200, 8, get)
    await timed(200, 8, validate)  # warm-up
    print(f"promotions bench: {args.checkouts} calls per line, sequential unless `concurrency` is said")
    report("baseline: GetPromotion", (await timed(args.checkouts, 1, get))[0])
    report("ValidateCode (shared code)", (await timed(args.checkouts, 1, validate))[0])
    report("reserve+confirm, one shared code", (await timed(args.checkouts, 1, redeem(lambda i: "BENCH0")))[0])
    c = args.concurrency
    latencies, wall = await timed(args.checkouts, c, get)
    report(f"baseline: GetPromotion, concurrency {c}", latencies, wall, "calls/s")
    latencies, wall = await timed(args.checkouts, c, validate)
    report(f"ValidateCode, concurrency {c}", latencies, wall, "calls/s")
    latencies, wall = await timed(args.checkouts, c, redeem(lambda i: "BENCH0"))
    report(f"reserve+confirm, one code, concurrency {c}", latencies, wall, " redemptions/s")
    latencies, wall = await timed(args.checkouts, c, redeem(lambda i: codes[i % len(codes)]))
    report(f"reserve+confirm, {len(codes)} promotions, concurrency {c}", latencies, wall, " redemptions/s")

    started = time.perf_counter()
    generate(BATCH, "TV")
    python_only = time.perf_counter() - started
    started = time.perf_counter()
    batch = await stub.CreateCodeBatch(
        pb.CreateCodeBatchRequest(request_id=uuid.uuid4().hex, promotion_id=first, code_count=BATCH, prefix="TV"),
        metadata=TENANT,
        timeout=120,
    )
    call = time.perf_counter() - started
    assert batch.batch.code_count == BATCH
    started = time.perf_counter()
    exported, token = 0, ""
    while True:
        page = await stub.ExportCodeBatch(
            pb.ExportCodeBatchRequest(batch_id=batch.batch.id, page_size=10_000, page_token=token), metadata=TENANT
        )
        exported += len(page.codes)
        if not (token := page.next_page_token):
            break
    export = time.perf_counter() - started
    assert exported == BATCH
    print(f"{'baseline: generate 100,000 codes in Python (secrets)':<58} {python_only:7.2f}s")
    print(f"{'CreateCodeBatch 100,000 codes (one call, bulk insert)':<58} {call:7.2f}s")
    print(f"{'ExportCodeBatch 100,000 codes (10 pages of 10,000)':<58} {export:7.2f}s")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checkouts", type=int, default=1_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--promotions", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        postgres, nats = EmbeddedPostgres(root / "pg", fast=True), EmbeddedNats(root / "nats")
        await asyncio.gather(postgres.start(), nats.start())
        port = free_port()
        process = spawn(
            [str(Path(sys.executable).parent / "azotte-promotions")],
            env={
                "AZOTTE_DATABASE_URL": postgres.database_url("azotte_promotions"),
                "AZOTTE_NATS_URL": nats.url,
                "AZOTTE_GRPC_PORT": str(port),
                "AZOTTE_SANDBOX_CLOCK": "false",
                "AZOTTE_LOG_LEVEL": "WARNING",
                "AZOTTE_DB_POOL_SIZE": "20",
            },
            log_file=root / "promotions.log",
        )
        try:
            await wait_serving(f"127.0.0.1:{port}", timeout=60, what="azotte-promotions", process=process)
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                await run(args, promotions_pb2_grpc.PromotionsServiceStub(channel))
        finally:
            stop(process)
            nats.stop()
            postgres.stop()


if __name__ == "__main__":
    asyncio.run(main())
