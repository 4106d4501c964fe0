"""The revenue stream on real PostgreSQL: what a transaction adds is written together at its commit, in order,
seen by its own reads before, and not at all when it rolls back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.domain.revenue import RevenueEntry, Standing, SubscriptionStanding
from azotte_platform.clock import FixedClock

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TENANT = "acme-revenue"


def paid(event_id: str, gross_minor: int, *, days_later: int = 0) -> RevenueEntry:
    """A charge that succeeded for `gross_minor` cents, `days_later` days after NOW."""
    return RevenueEntry(
        event_id,
        NOW + timedelta(days=days_later),
        "payments",
        "payment.succeeded",
        customer_id="cus_1",
        storefront_id="us",
        channel="WEB",
        plan_id="basic",
        currency="USD",
        charge_id=f"ch_{event_id}",
        gross_minor=gross_minor,
        net_minor=gross_minor,
    )


async def stored(engine: AsyncEngine) -> tuple[list[str], dict[str, tuple[int, int]]]:
    """The entries' event ids in stream order; each day's (gross, series started)."""
    async with engine.connect() as conn:
        entries = await conn.execute(sa.text("SELECT event_id FROM revenue_entries ORDER BY seq"))
        days = await conn.execute(sa.text("SELECT day, gross_minor, series_started FROM revenue_days"))
        return [row.event_id for row in entries], {str(row.day): (row.gross_minor, row.series_started) for row in days}


async def test_entries_added_together_are_stored_in_order_with_their_days_added_up(engine: AsyncEngine) -> None:
    entries = [paid("e3", 300), paid("e1", 100), paid("e2", 250, days_later=1), paid("e4", 50)]
    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        for entry in entries:
            await uow.revenue.add(TENANT, entry)
        assert await uow.revenue.has(TENANT, "e2") and not await uow.revenue.has(TENANT, "e5")
        await uow.commit()

    ids, days = await stored(engine)
    assert ids == ["e3", "e1", "e2", "e4"]
    assert days == {"2026-03-01": (450, 3), "2026-03-02": (250, 1)}


async def test_a_transaction_reads_what_it_added_and_keeps_adding_after(engine: AsyncEngine) -> None:
    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        await uow.revenue.add(TENANT, paid("e1", 100))
        assert await uow.revenue.count(TENANT) == 1
        await uow.revenue.add(TENANT, paid("e2", 200))
        assert await uow.revenue.count(TENANT) == 2
        await uow.commit()

    assert await stored(engine) == (["e1", "e2"], {"2026-03-01": (300, 2)})


async def test_what_a_transaction_added_is_gone_when_it_rolls_back(engine: AsyncEngine) -> None:
    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        await uow.revenue.add(TENANT, paid("e1", 100))
        await uow.revenue.count(TENANT)
        await uow.revenue.add(TENANT, paid("e2", 200))

    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        assert not await uow.revenue.has(TENANT, "e1") and not await uow.revenue.has(TENANT, "e2")
        await uow.revenue.add(TENANT, paid("e3", 300))
        await uow.commit()

    assert await stored(engine) == (["e3"], {"2026-03-01": (300, 1)})


async def test_events_recalled_at_once_are_answered_from_what_was_read_and_added(engine: AsyncEngine) -> None:
    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        await uow.revenue.add(TENANT, paid("e1", 100))
        await uow.commit()

    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        await uow.revenue.lock_tenant(TENANT)
        await uow.revenue.recall(TENANT, ["e1", "e2", "e3"])
        async with engine.begin() as elsewhere:  # NOTE: not possible under the tenant's lock; shows no re-read
            await elsewhere.execute(
                sa.text("INSERT INTO revenue_entries (tenant_id, event_id, occur_time) VALUES (:t, 'e3', now())"),
                {"t": TENANT},
            )
        assert [await uow.revenue.has(TENANT, e) for e in ("e1", "e2", "e3")] == [True, False, False]
        await uow.revenue.add(TENANT, paid("e2", 200))
        assert await uow.revenue.count(TENANT) == 3
        assert await uow.revenue.has(TENANT, "e2")
        await uow.commit()


async def test_a_tenant_forgotten_in_a_transaction_is_forgotten_with_what_it_added(engine: AsyncEngine) -> None:
    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        await uow.revenue.add(TENANT, paid("e1", 100))
        await uow.revenue.forget(TENANT)
        assert not await uow.revenue.has(TENANT, "e1")
        await uow.revenue.add(TENANT, paid("e2", 200))
        await uow.commit()

    assert await stored(engine) == (["e2"], {"2026-03-01": (200, 1)})


async def standing_stored(engine: AsyncEngine, subscription_id: str) -> tuple[str, int] | None:
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT standing, mrr_minor FROM revenue_subscriptions WHERE subscription_id = :s"),
                {"s": subscription_id},
            )
        ).first()
    return None if row is None else (row.standing, row.mrr_minor)


async def test_a_subscriptions_standing_is_read_as_last_saved_and_stored_at_commit(engine: AsyncEngine) -> None:
    paying = SubscriptionStanding(Standing.PAYING, 999, True, False)
    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        assert await uow.revenue.standing(TENANT, "sub_1") == SubscriptionStanding.unseen()
        await uow.revenue.save_standing(TENANT, "sub_1", paying)
        assert await uow.revenue.standing(TENANT, "sub_1") == paying
        # NOTE: rolled back: nothing stored.
    assert await standing_stored(engine, "sub_1") is None

    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        await uow.revenue.save_standing(TENANT, "sub_1", paying)
        await uow.revenue.save_standing(TENANT, "sub_1", replace(paying, mrr_minor=1_999))
        await uow.commit()
    assert await standing_stored(engine, "sub_1") == (Standing.PAYING.value, 1_999)

    async with PostgresGatewayUnitOfWork(engine, "gateway", FixedClock(NOW)) as uow:
        assert (await uow.revenue.standing(TENANT, "sub_1")).mrr_minor == 1_999
        await uow.revenue.forget(TENANT)
        assert await uow.revenue.standing(TENANT, "sub_1") == SubscriptionStanding.unseen()
        await uow.commit()
    assert await standing_stored(engine, "sub_1") is None
