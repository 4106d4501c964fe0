"""Idempotency store, inbox, outbox, sandbox clock and gRPC error mapping on real PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte.common.v1 import money_pb2, sandbox_pb2
from azotte_platform import errors
from azotte_platform.clock import FixedClock, SandboxClock, now_of
from azotte_platform.db.engine import asyncpg_dsn, create_engine, ensure_database, transient_database_error
from azotte_platform.db.tables import create_platform_tables, outbox
from azotte_platform.db.unit_of_work import OUTBOX_CHANNEL, UnitOfWork
from azotte_platform.events import nats_connection
from azotte_platform.events.envelope import Event
from azotte_platform.idempotency import run_once
from tests.helpers import eventually


async def platform_database(servers, name: str, pool_size: int = 10) -> tuple[str, AsyncEngine]:
    """A fresh database with the platform's tables: its URL and an engine over it."""
    url = servers.new_database_url(name)
    await ensure_database(url)
    engine = create_engine(url, pool_size=pool_size)
    async with engine.begin() as conn:
        await conn.run_sync(create_platform_tables)
    return url, engine


async def test_concurrent_duplicates_run_once_and_reuse_with_other_content_is_rejected(servers) -> None:
    _, engine = await platform_database(servers, "idem", pool_size=25)
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    runs = 0

    async def work() -> sandbox_pb2.ClockAdvanced:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.05)  # widen the race window
        return sandbox_pb2.ClockAdvanced(offset_seconds=runs)

    async def call(seconds: int) -> sandbox_pb2.ClockAdvanced:
        request = sandbox_pb2.ClockAdvanced(offset_seconds=seconds)
        async with UnitOfWork(engine, "test", clock) as uow:
            return await run_once(uow, "acme", "Advance", request, sandbox_pb2.ClockAdvanced, work, request_id="req-1")

    answers = await asyncio.gather(*(call(7) for _ in range(20)))
    assert runs == 1
    assert {a.offset_seconds for a in answers} == {1}
    with pytest.raises(errors.Aborted) as raised:
        await call(8)
    assert raised.value.reason == "REQUEST_ID_REUSED"
    await engine.dispose()


async def test_claiming_events_together_claims_each_once_and_skips_the_ones_handled_before(servers) -> None:
    _, engine = await platform_database(servers, "inbox")
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    async with UnitOfWork(engine, "test", clock) as uow:
        assert await uow.claim_event("billing", "ev-1", "acme")
        await uow.commit()
    async with UnitOfWork(engine, "test", clock) as uow:
        claimed = await uow.claim_events(
            "billing", [("ev-3", "acme"), ("ev-1", "acme"), ("ev-2", "globex"), ("ev-3", "acme")]
        )
        assert claimed == {"ev-2", "ev-3"}  # ev-1 was handled before; ev-3, delivered twice, is claimed once
        assert await uow.claim_events("reports", [("ev-1", "acme")]) == {"ev-1"}  # another consumer's inbox
        assert await uow.claim_events("billing", []) == set()
        # rolled back: nothing claimed
    async with UnitOfWork(engine, "test", clock) as uow:
        assert await uow.claim_events("billing", [("ev-2", "globex")]) == {"ev-2"}
    await engine.dispose()


async def test_a_commit_writes_its_events_to_the_outbox_and_wakes_the_relay_once_and_a_rollback_neither(
    servers,
) -> None:
    url, engine = await platform_database(servers, "outbox")
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    woken: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(url))
    await listener.add_listener(OUTBOX_CHANNEL, lambda *args: woken.append(args[-1]))
    try:
        money = money_pb2.Money(currency_code="USD", amount_minor=5)
        async with UnitOfWork(engine, "billing", clock) as uow:
            uow.record(Event("acme", "amount.added", money), Event("acme", "amount.added", money))
            # NOTE: rolled back: nothing written, nobody woken.
        async with UnitOfWork(engine, "billing", clock) as uow:
            uow.record(Event("acme", "amount.added", money), Event("acme", "amount.added", money))
            await uow.commit()

        async def woke() -> bool:
            return bool(woken)

        await eventually(woke)
        await asyncio.sleep(0.1)
        assert woken == ["billing"]
        async with engine.connect() as conn:
            assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == 2
    finally:
        await listener.close()
        await engine.dispose()


async def test_the_loser_of_a_real_deadlock_is_told_to_retry(servers) -> None:
    url = servers.new_database_url("deadlock")
    await ensure_database(url)
    engine = create_engine(url, pool_size=2)
    async with engine.begin() as conn:
        await conn.execute(sa.text("CREATE TABLE rows (id int PRIMARY KEY, n int NOT NULL)"))
        await conn.execute(sa.text("INSERT INTO rows VALUES (1, 0), (2, 0)"))
    both_hold_one = asyncio.Barrier(2)

    async def cross(first: int, second: int) -> None:
        async with engine.begin() as conn:
            await conn.execute(sa.text("UPDATE rows SET n = n + 1 WHERE id = :id"), {"id": first})
            await both_hold_one.wait()
            await conn.execute(sa.text("UPDATE rows SET n = n + 1 WHERE id = :id"), {"id": second})

    outcomes = await asyncio.gather(cross(1, 2), cross(2, 1), return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], DBAPIError)
    conflict = transient_database_error(failures[0])
    assert conflict is not None and conflict.reason == "DATABASE_CONFLICT"
    async with engine.connect() as conn:
        assert (await conn.execute(sa.text("SELECT sum(n) FROM rows"))).scalar() == 2  # the loser left nothing
    await engine.dispose()


async def test_sandbox_clocks_are_per_tenant_followed_by_every_service_and_listeners_run(servers) -> None:
    client_a = await nats_connection.connect(servers.nats_url, name="clock-a")
    client_b = await nats_connection.connect(servers.nats_url, name="clock-b")
    clock_a, clock_b = SandboxClock(), SandboxClock()
    await clock_a.start(client_a.jetstream())
    await clock_b.start(client_b.jetstream())
    moved = asyncio.Event()
    movers: list[str] = []

    async def on_move(tenant_id: str) -> None:
        movers.append(tenant_id)
        moved.set()

    clock_b.on_change(on_move)
    acme, globex = f"acme-{uuid.uuid4().hex[:8]}", f"globex-{uuid.uuid4().hex[:8]}"
    acme_before, globex_before = now_of(clock_b, acme), now_of(clock_b, globex)
    await clock_a.advance(timedelta(days=31), acme)
    await asyncio.wait_for(moved.wait(), 5)
    assert movers == [acme]  # listeners hear which tenant's time moved
    assert now_of(clock_b, acme) - acme_before >= timedelta(days=31)  # another service sees acme's move
    assert now_of(clock_b, globex) - globex_before < timedelta(minutes=1)  # and no other tenant's time moved
    assert clock_b.offset_of(acme) == timedelta(days=31) and clock_b.offset_of(globex) == timedelta()
    with pytest.raises(ValueError):
        await clock_a.advance(timedelta(seconds=-1), acme)
    await clock_a.stop()
    await clock_b.stop()

    clock_c = SandboxClock()  # a service started later loads every tenant's offset
    await clock_c.start(client_b.jetstream())
    assert clock_c.offset_of(acme) == timedelta(days=31) and clock_c.offset_of(globex) == timedelta()
    await clock_c.stop()
    await client_a.close()
    await client_b.close()


class UnknownCurrency(errors.InvalidArgument):
    """A reason of the callee only."""

    reason = "UNKNOWN_CURRENCY"


async def test_typed_errors_cross_the_wire_with_reason_and_fields() -> None:
    from azotte_platform.grpc.client import connect
    from azotte_platform.grpc.interceptors import ServiceInterceptor

    async def fail(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        raise UnknownCurrency.field("currency_code", "unknown currency 'XYZ'")

    async def decline(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
        raise errors.PaymentDeclined("the payment was declined", metadata={"decline_reason": "INSUFFICIENT_FUNDS"})

    handler = grpc.method_handlers_generic_handler(
        "azotte.test.v1.Test",
        {"Fail": grpc.unary_unary_rpc_method_handler(fail), "Decline": grpc.unary_unary_rpc_method_handler(decline)},
    )
    server = grpc.aio.server(interceptors=[ServiceInterceptor("test")])
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    async with connect(f"127.0.0.1:{port}") as channel:
        call: Any = channel.unary_unary
        with pytest.raises(errors.InvalidArgument) as raised:
            await call("/azotte.test.v1.Test/Fail")(b"")
        with pytest.raises(errors.PaymentDeclined) as declined:
            await call("/azotte.test.v1.Test/Decline")(b"")
    await server.stop(None)
    # NOTE: a reason only the callee declares comes back as its category, with the callee's reason.
    assert type(raised.value) is errors.InvalidArgument
    assert raised.value.reason == "UNKNOWN_CURRENCY"
    assert raised.value.violations[0].field == "currency_code"
    # NOTE: a shared reason comes back as its own class, so callers match it by type.
    assert declined.value.reason == "PAYMENT_DECLINED"
    assert declined.value.metadata == {"decline_reason": "INSUFFICIENT_FUNDS"}
