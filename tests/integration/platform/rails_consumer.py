"""A consumer process for the rails tests: adds each event's amount to a total, exactly once.

Usage: rails_consumer.py DATABASE_URL NATS_URL DURABLE [CRASH_ON_ACK_NUMBER]
With a crash number, the process dies right after committing that event, before acking it.
"""

from __future__ import annotations

import asyncio
import os
import sys

import sqlalchemy as sa
from nats.aio.msg import Msg

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import create_engine, ensure_database
from azotte_platform.db.tables import create_platform_tables
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import ReceivedEvent

metadata = sa.MetaData()
totals = sa.Table("totals", metadata, sa.Column("name", sa.Text, primary_key=True), sa.Column("sum", sa.BigInteger))
applied = sa.Table("applied", metadata, sa.Column("event_id", sa.Text), sa.Column("amount", sa.BigInteger))


async def apply(uow: UnitOfWork, event: ReceivedEvent) -> None:
    """A deliberately non-idempotent effect: only the inbox keeps it exactly-once."""
    amount = event.payload(money_pb2.Money).amount_minor
    await uow.connection.execute(sa.update(totals).values(sum=totals.c.sum + amount))
    await uow.connection.execute(applied.insert().values(event_id=event.id, amount=amount))


async def main(database_url: str, nats_url: str, durable: str, crash_on_ack: int) -> None:
    await ensure_database(database_url)
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(create_platform_tables)
        await conn.run_sync(metadata.create_all)
        if not (await conn.execute(sa.select(totals))).first():
            await conn.execute(totals.insert().values(name="total", sum=0))
    if crash_on_ack:
        acks = 0
        original_ack = Msg.ack

        async def ack_then_maybe_crash(message: Msg) -> None:
            nonlocal acks
            acks += 1
            if acks == crash_on_ack:
                os._exit(17)
            await original_ack(message)

        Msg.ack = ack_then_maybe_crash  # type: ignore[method-assign,assignment]
    client = await nats_connection.connect(nats_url, name=durable)
    spec = ConsumerSpec(durable=durable, producer="rails", event_types=["amount.added"], ack_wait_seconds=1.0)
    consumer = EventConsumer(
        client.jetstream(), lambda: UnitOfWork(engine, "rails-consumer", SystemClock()), spec, apply
    )
    print("ready", flush=True)
    await consumer.run()


if __name__ == "__main__":
    crash = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], crash))
