"""Webhook delivery throughput: signed deliveries/s from the gateway's message table to a local receiver, beside
a baseline of plain POSTs of the same bodies with the same HTTP client and concurrency, in the same run.

Run: .venv/bin/python tests/perf/bench_webhooks_delivery.py [MESSAGES]
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import UTC, datetime

import httpx
import perf_suite  # type: ignore[import-not-found]  # NOTE: a sibling script, imported when run
import sqlalchemy as sa

from azotte_gateway.adapters.tables import tenants
from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.adapters.webhook_sender import CLIENT_LIMITS, HttpWebhookSender
from azotte_gateway.domain.webhooks import (
    REQUEST_TIMEOUT_SECONDS,
    MessageState,
    WebhookEndpoint,
    WebhookMessage,
    new_secret,
)
from azotte_gateway.entrypoints.main import MIGRATIONS
from azotte_gateway.service_layer.webhook_delivery import WebhookDelivery
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import create_engine
from azotte_platform.db.migrations import migrate
from azotte_stack.postgres import EmbeddedPostgres

TENANT = "bench-webhooks"
BATCH = 50
BODY = '{"specversion":"1.0","type":"subscription.renewed","data":{"cause":"charge_succeeded","n":%d}}'


class Receiver:
    """A keep-alive HTTP/1.1 server answering 204 to every request; counts what it received."""

    def __init__(self) -> None:
        self.received = 0

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                await reader.readexactly(length)
                self.received += 1
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


async def baseline(url: str, count: int) -> float:
    """Plain POSTs of the same bodies, BATCH at a time, with an httpx client set up as the sender's: seconds taken."""
    async with httpx.AsyncClient(
        timeout=REQUEST_TIMEOUT_SECONDS, follow_redirects=False, limits=CLIENT_LIMITS
    ) as client:
        started = time.perf_counter()
        for start in range(0, count, BATCH):
            await asyncio.gather(
                *(client.post(url, content=(BODY % n).encode()) for n in range(start, min(start + BATCH, count)))
            )
        return time.perf_counter() - started


async def main(count: int) -> None:
    root = perf_suite.scratch_dir("bench-webhooks-")
    postgres = EmbeddedPostgres(root / "pg", fast=True)
    await postgres.start()
    receiver = Receiver()
    server = await asyncio.start_server(receiver.serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hooks"
    try:
        database = postgres.database_url("bench_webhooks")
        await migrate(MIGRATIONS, database)
        engine = create_engine(database)
        clock = SystemClock()
        now = datetime.now(UTC)
        async with engine.begin() as conn:
            await conn.execute(
                sa.insert(tenants).values(
                    tenant_id=TENANT,
                    name=TENANT,
                    mode="sandbox",
                    operator_refund_limit_minor=0,
                    create_time=now,
                    customer_token_secret=b"x" * 32,
                )
            )

        def uow() -> PostgresGatewayUnitOfWork:
            return PostgresGatewayUnitOfWork(engine, "gateway", clock)

        async with uow() as unit:
            endpoint = WebhookEndpoint(TENANT, "ep_bench", url, "", (), new_secret(), True, now, now)
            await unit.webhooks.add_endpoint(endpoint)
            for start in range(0, count, 1000):
                messages = [
                    WebhookMessage(TENANT, f"msg_{n}", endpoint.id, f"ev_{n}", "subscription.renewed", BODY % n, now)
                    for n in range(start, min(start + 1000, count))
                ]
                await unit.webhooks.add_messages([m.replayed(now) for m in messages])
            await unit.commit()

        plain = await baseline(url, count)
        sender = HttpWebhookSender()
        delivery = WebhookDelivery(uow, clock, sender, batch_size=BATCH)
        receiver.received = 0
        started = time.perf_counter()
        delivered = await delivery.work_due()
        elapsed = time.perf_counter() - started
        await sender.close()
        async with uow() as unit:
            left = await unit.connection.scalar(
                sa.text("select count(*) from webhook_messages where state != :delivered"),
                {"delivered": MessageState.DELIVERED.value},
            )
        print(f"baseline, plain POSTs ({BATCH} at a time): {count} in {plain:.2f}s = {count / plain:,.0f} requests/s")
        print(
            f"webhook delivery (claim, sign, POST, record; batches of {BATCH}): {delivered} in {elapsed:.2f}s = "
            f"{delivered / elapsed:,.0f} deliveries/s ({receiver.received} received, {left} not delivered)"
        )
        await engine.dispose()
    finally:
        server.close()
        postgres.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 1_000))
