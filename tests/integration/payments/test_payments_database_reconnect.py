"""A service whose database connections all drop answers UNAVAILABLE at worst, then serves again."""

from __future__ import annotations

import asyncpg
import grpc

from azotte.payments.v1 import payments_pb2 as P
from azotte_platform.db.engine import asyncpg_dsn
from tests.integration.payments.payments_harness import Payments


async def drop_every_connection(payments: Payments) -> int:
    """Terminate every server process of the service's database, as a PostgreSQL restart would."""
    admin = await asyncpg.connect(asyncpg_dsn(payments.runtime.settings.database_url))
    try:
        return len(
            await admin.fetch(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await admin.close()


async def test_calls_answer_unavailable_at_worst_and_then_recover(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    charged = await payments.charge(tenant, customer, 1500)
    assert await drop_every_connection(payments) > 0

    codes = []
    for _ in range(3):
        try:
            listed = await payments.call(tenant, "ListCharges", P.ListChargesRequest(customer_id=customer))
            codes.append(grpc.StatusCode.OK)
        except grpc.aio.AioRpcError as error:
            codes.append(error.code())
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes
    assert codes[1:] == [grpc.StatusCode.OK, grpc.StatusCode.OK], codes
    assert [c.id for c in listed.charges] == [charged.id]
