"""One driver per charge: PostgreSQL session advisory locks, keyed by tenant and charge id."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_LOCK_ALL = sa.text("SELECT pg_advisory_lock(hashtextextended(key, 0)) FROM unnest(CAST(:keys AS text[])) AS key")
_UNLOCK_ALL = sa.text("SELECT pg_advisory_unlock_all()")


def _driver_key(tenant_id: str, charge_id: str) -> str:
    """What a charge's driver lock is taken on (hashed by PostgreSQL into an advisory lock key)."""
    return f"{tenant_id}/{charge_id}"


class AdvisoryChargeLocks:
    """Charge locks on pooled connections outside any transaction (implements `ports.ChargeLocks`).

    NOTE: a session lock survives the driver's own commits and dies with its connection,
    so a crashed driver never blocks the charge.
    """

    def __init__(self, engine: AsyncEngine):
        self._engine = engine

    @contextlib.asynccontextmanager
    async def hold_all(self, tenant_id: str, charge_ids: Sequence[str]) -> AsyncIterator[None]:
        """Hold new charges nobody else knows yet, waiting for each lock; released on exit."""
        if not charge_ids:
            yield
            return
        keys = [_driver_key(tenant_id, charge_id) for charge_id in charge_ids]
        async with self._session() as session:
            await session.execute(_LOCK_ALL, {"keys": keys})
            try:
                yield
            finally:
                await session.execute(_UNLOCK_ALL)

    @contextlib.asynccontextmanager
    async def try_hold(self, tenant_id: str, charge_id: str) -> AsyncIterator[bool]:
        """Hold a charge if nobody else does; yields whether it is held, released on exit."""
        key = sa.func.hashtextextended(_driver_key(tenant_id, charge_id), 0)
        async with self._session() as session:
            held = bool((await session.execute(sa.select(sa.func.pg_try_advisory_lock(key)))).scalar())
            try:
                yield held
            finally:
                if held:
                    await session.execute(sa.select(sa.func.pg_advisory_unlock(key)))

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncConnection]:
        """A pooled connection outside any transaction: session advisory locks need none."""
        async with self._engine.connect() as connection:
            yield await connection.execution_options(isolation_level="AUTOCOMMIT")
