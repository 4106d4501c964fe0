"""A consumer that applies events together in one transaction: each exactly once, each tenant's in order, and a
failing event costs only itself (its neighbours are applied one by one); a lingering one gathers a trickle of
events into one transaction; one that prepares is told the events of each transaction first; one that applies
events together gets each tenant's of a transaction at once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from nats.js.client import JetStreamContext
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte.common.v1 import money_pb2
from azotte_platform.clock import SystemClock
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events.consumer import ConsumerSpec, EventConsumer
from azotte_platform.events.envelope import ReceivedEvent, binary_headers, subject_for
from tests.helpers import eventually
from tests.integration.platform.bus_fixture import open_bus

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


@dataclass
class Bench:
    """A producer's stream, a database with the inbox and the `applied` table, and a way to publish amounts."""

    producer: str
    engine: AsyncEngine
    js: JetStreamContext

    async def publish(self, tenant: str, amount: int, *, twice: bool = False) -> None:
        headers = binary_headers(
            event_id=uuid.uuid4().hex,
            event_type="amount.added",
            source=f"azotte/{self.producer}",
            tenant_id=tenant,
            time=datetime.now(UTC),
            data_schema="",
        )
        payload = money_pb2.Money(currency_code="USD", amount_minor=amount).SerializeToString()
        subject = subject_for(self.producer, tenant, "amount.added")
        await self.js.publish(subject, payload, headers=headers)
        if twice:  # delivered again, past the stream's own dedup
            await self.js.publish(subject, payload, headers={**headers, "Nats-Msg-Id": ""})

    @asynccontextmanager
    async def consuming(self, spec: ConsumerSpec, apply, prepare=None, together=None) -> AsyncIterator[None]:
        def uow() -> UnitOfWork:
            return UnitOfWork(self.engine, self.producer, SystemClock())

        consumer = EventConsumer(self.js, uow, spec, apply, prepare, apply_together=together)
        task = asyncio.create_task(consumer.run())
        try:
            yield
        finally:
            task.cancel()
            await asyncio.wait([task])

    async def rows(self) -> list[tuple[str, int, int]]:
        """(tenant, amount, transaction) of every event applied, in the order applied."""
        async with self.engine.connect() as conn:
            found = await conn.execute(
                sa.select(applied.c.tenant_id, applied.c.amount, applied.c.transaction_id).order_by(applied.c.seq)
            )
        return [(tenant, amount, transaction) for tenant, amount, transaction in found]


@asynccontextmanager
async def bench(servers, name: str) -> AsyncIterator[Bench]:
    async for bus in open_bus(servers, name):
        async with bus.engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        yield Bench(bus.producer, bus.engine, bus.js)


async def apply_amount(uow: UnitOfWork, event: ReceivedEvent) -> None:
    amount = event.payload(money_pb2.Money).amount_minor
    if amount == POISON:
        raise RuntimeError("a poison event")
    await uow.connection.execute(applied.insert().values(tenant_id=event.tenant_id, amount=amount))


async def test_events_applied_together_are_applied_once_in_order_and_a_poison_event_spares_its_neighbours(
    servers,
) -> None:
    async with bench(servers, "batches") as setup:
        sent: dict[str, list[int]] = {"acme": [], "globex": []}
        for amount in range(40):
            tenant = "acme" if amount % 3 else "globex"
            sent[tenant].append(amount)
            await setup.publish(tenant, amount, twice=amount == 5)  # the repeat is applied once
        spec = ConsumerSpec(
            durable=setup.producer, producer=setup.producer, per_transaction=10, max_deliver=2, backoff_seconds=(0.1,)
        )
        async with setup.consuming(spec, apply_amount):

            async def read() -> dict[str, list[int]]:
                found: dict[str, list[int]] = {"acme": [], "globex": []}
                for tenant, amount, _ in await setup.rows():
                    found[tenant].append(amount)
                return found

            expected = {tenant: [a for a in amounts if a != POISON] for tenant, amounts in sent.items()}

            async def all_applied() -> bool:
                return await read() == expected

            await eventually(all_applied, within=30)

            async def poison_parked() -> bool:
                dlq = f"azotte_dlq.{setup.producer}"
                parked = await setup.js.stream_info("AZOTTE_DLQ", subjects_filter=dlq)
                return parked.state.subjects == {dlq: 1}  # the poison event, and only it

            await eventually(poison_parked, within=30)
            assert await read() == expected


async def test_a_lingering_consumer_applies_a_trickle_of_events_in_one_transaction(servers) -> None:
    async with bench(servers, "linger") as setup:
        spec = ConsumerSpec(durable=setup.producer, producer=setup.producer, per_transaction=10, linger_seconds=1.0)
        async with setup.consuming(spec, apply_amount):
            for amount in range(5):
                await setup.publish("acme", amount)
                await asyncio.sleep(0.02)

            async def all_applied() -> bool:
                return len(await setup.rows()) == 5

            await eventually(all_applied, within=30)
            rows = await setup.rows()
            assert [amount for _, amount, _ in rows] == [0, 1, 2, 3, 4]
            assert len({transaction for _, _, transaction in rows}) == 1


async def test_a_consumer_is_told_once_per_transaction_which_events_it_will_apply_together(servers) -> None:
    async with bench(servers, "prepare") as setup:
        for amount in range(6):
            await setup.publish("acme", amount, twice=amount == 2)
        told: list[tuple[object, list[int]]] = []

        async def prepare(uow: UnitOfWork, events: list[ReceivedEvent]) -> None:
            transaction = await uow.connection.scalar(sa.select(sa.func.txid_current()))
            told.append((transaction, sorted(e.payload(money_pb2.Money).amount_minor for e in events)))

        spec = ConsumerSpec(durable=setup.producer, producer=setup.producer, per_transaction=10)
        async with setup.consuming(spec, apply_amount, prepare):

            async def all_applied() -> bool:
                return len(await setup.rows()) == 6

            await eventually(all_applied, within=30)
            rows = await setup.rows()
        assert sorted(amount for _, amount, _ in rows) == [0, 1, 2, 3, 4, 5]
        assert sorted(amount for _, amounts in told for amount in amounts) == [0, 1, 2, 3, 4, 5]
        transactions = {transaction for _, _, transaction in rows}
        assert {transaction for transaction, _ in told} == transactions


async def test_a_consumer_applying_events_together_gets_each_tenants_events_of_a_transaction_once_in_order(
    servers,
) -> None:
    async with bench(servers, "together") as setup:
        for amount in range(12):
            await setup.publish("globex" if amount % 4 == 0 else "acme", amount, twice=amount == 5)
        calls: list[tuple[str, list[int]]] = []

        async def together(uow: UnitOfWork, events: list[ReceivedEvent]) -> None:
            amounts = [e.payload(money_pb2.Money).amount_minor for e in events]
            calls.append((events[0].tenant_id, amounts))
            for event, amount in zip(events, amounts, strict=True):
                await uow.connection.execute(applied.insert().values(tenant_id=event.tenant_id, amount=amount))

        spec = ConsumerSpec(durable=setup.producer, producer=setup.producer, per_transaction=20, linger_seconds=1.0)
        async with setup.consuming(spec, apply_amount, together=together):

            async def all_applied() -> bool:
                return len(await setup.rows()) == 12

            await eventually(all_applied, within=30)
            rows = await setup.rows()
        assert calls == [("acme", [1, 2, 3, 5, 6, 7, 9, 10, 11]), ("globex", [0, 4, 8])]
        assert len({transaction for _, _, transaction in rows}) == 1
