"""A consumer that applies events together in one transaction: each exactly once, each tenant's in order, and a
failing event costs only itself (its neighbours are applied one by one); a lingering one gathers a trickle of
events into one transaction."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.engine import create_engine, ensure_database
from azotte_platform.db.tables import create_platform_tables
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import ReceivedEvent, binary_headers, subject_for
from tests.helpers import eventually

metadata = sa.MetaData()
applied = sa.Table(
    "applied",
    metadata,
    sa.Column("seq", sa.BigInteger, sa.Identity(always=True), primary_key=True),
    sa.Column("tenant_id", sa.Text),
    sa.Column("amount", sa.BigInteger),
    sa.Column("transaction_id", sa.BigInteger, server_default=sa.text("txid_current()")),
)
POISON = 13


async def test_events_applied_together_are_applied_once_in_order_and_a_poison_event_spares_its_neighbours(
    servers,
) -> None:
    producer = f"batches{uuid.uuid4().hex[:6]}"
    url = servers.new_database_url("batches")
    await ensure_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(create_platform_tables)
        await conn.run_sync(metadata.create_all)
    client = await nats_connection.connect(servers.nats_url, name="batches")
    js = client.jetstream()
    await nats_connection.ensure_service_stream(js, producer)
    await nats_connection.ensure_dead_letter_stream(js)
    sent: dict[str, list[int]] = {"acme": [], "globex": []}
    for amount in range(40):
        tenant = "acme" if amount % 3 else "globex"
        sent[tenant].append(amount)
        event_id = uuid.uuid4().hex
        headers = binary_headers(
            event_id=event_id,
            event_type="amount.added",
            source=f"azotte/{producer}",
            tenant_id=tenant,
            time=datetime.now(UTC),
            data_schema="",
        )
        payload = money_pb2.Money(currency_code="USD", amount_minor=amount).SerializeToString()
        await js.publish(subject_for(producer, tenant, "amount.added"), payload, headers=headers)
        if amount == 5:  # delivered twice: applied once
            await js.publish(
                subject_for(producer, tenant, "amount.added"), payload, headers={**headers, "Nats-Msg-Id": ""}
            )

    async def apply(uow: UnitOfWork, event: ReceivedEvent) -> None:
        amount = event.payload(money_pb2.Money).amount_minor
        if amount == POISON:
            raise RuntimeError("a poison event")
        await uow.connection.execute(applied.insert().values(tenant_id=event.tenant_id, amount=amount))

    spec = ConsumerSpec(durable=producer, producer=producer, per_transaction=10, max_deliver=2, backoff_seconds=(0.1,))
    consumer = EventConsumer(js, lambda: UnitOfWork(engine, "batches", SystemClock()), spec, apply)
    task = asyncio.create_task(consumer.run())
    try:

        async def read() -> dict[str, list[int]]:
            async with engine.connect() as conn:
                rows = (
                    await conn.execute(sa.select(applied.c.tenant_id, applied.c.amount).order_by(applied.c.seq))
                ).all()
            found: dict[str, list[int]] = {"acme": [], "globex": []}
            for tenant, amount in rows:
                found[tenant].append(amount)
            return found

        expected = {tenant: [a for a in amounts if a != POISON] for tenant, amounts in sent.items()}

        async def all_applied() -> bool:
            return await read() == expected

        await eventually(all_applied, within=30)

        async def poison_parked() -> bool:
            parked = await js.stream_info("AZOTTE_DLQ", subjects_filter=f"azotte_dlq.{producer}")
            return parked.state.subjects == {f"azotte_dlq.{producer}": 1}  # the poison event, and only it

        await eventually(poison_parked, within=30)
        assert await read() == expected
    finally:
        task.cancel()
        await asyncio.wait([task])
        await client.close()
        await engine.dispose()


async def test_a_lingering_consumer_applies_a_trickle_of_events_in_one_transaction(servers) -> None:
    producer = f"linger{uuid.uuid4().hex[:6]}"
    url = servers.new_database_url("linger")
    await ensure_database(url)
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(create_platform_tables)
        await conn.run_sync(metadata.create_all)
    client = await nats_connection.connect(servers.nats_url, name="linger")
    js = client.jetstream()
    await nats_connection.ensure_service_stream(js, producer)

    async def apply(uow: UnitOfWork, event: ReceivedEvent) -> None:
        amount = event.payload(money_pb2.Money).amount_minor
        await uow.connection.execute(applied.insert().values(tenant_id=event.tenant_id, amount=amount))

    spec = ConsumerSpec(durable=producer, producer=producer, per_transaction=10, linger_seconds=1.0)
    consumer = EventConsumer(js, lambda: UnitOfWork(engine, "linger", SystemClock()), spec, apply)
    task = asyncio.create_task(consumer.run())
    try:
        for amount in range(5):
            headers = binary_headers(
                event_id=uuid.uuid4().hex,
                event_type="amount.added",
                source=f"azotte/{producer}",
                tenant_id="acme",
                time=datetime.now(UTC),
                data_schema="",
            )
            payload = money_pb2.Money(currency_code="USD", amount_minor=amount).SerializeToString()
            await js.publish(subject_for(producer, "acme", "amount.added"), payload, headers=headers)
            await asyncio.sleep(0.02)

        async def rows() -> list[tuple[int, int]]:
            async with engine.connect() as conn:
                found = await conn.execute(
                    sa.select(applied.c.amount, applied.c.transaction_id).order_by(applied.c.seq)
                )
            return [(amount, transaction) for amount, transaction in found]

        async def all_applied() -> bool:
            return len(await rows()) == 5

        await eventually(all_applied, within=30)
        found = await rows()
        assert [amount for amount, _ in found] == [0, 1, 2, 3, 4]
        assert len({transaction for _, transaction in found}) == 1
    finally:
        task.cancel()
        await asyncio.wait([task])
        await client.close()
        await engine.dispose()
