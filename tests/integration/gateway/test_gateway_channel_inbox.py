"""The notification inbox on real PostgreSQL: stored once per (tenant, channel, id), failed ones (and received ones
whose attempt outlived its lease) claimed when due by their tenant's clock, the oldest event first, each by one of
two concurrent workers, and listed a page at a time."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_gateway.adapters.unit_of_work import PostgresGatewayUnitOfWork
from azotte_gateway.domain.channel_inbox import AppliedEvent, InboxNotification, InboxQuery, InboxState
from azotte_platform.clock import FixedClock, TenantTimes
from azotte_platform.context import tenant_scope
from azotte_platform.enums import Channel
from azotte_platform.paging import PageRequest

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Listing:
    """A list request's paging fields."""

    page_size: int
    page_token: str


LEASE = timedelta(minutes=1)


def notification(
    tenant: str, notification_id: str, minute: int, state: InboxState, due: datetime = NOW
) -> InboxNotification:
    return InboxNotification(
        tenant_id=tenant,
        channel=Channel.APP_STORE,
        notification_id=notification_id,
        app_id="ios",
        body=b'{"signedPayload": "x.y.z"}',
        headers={"content-type": "application/json"},
        event_time=NOW + timedelta(minutes=minute),
        receive_time=NOW,
        state=state,
        attempt_count=1,
        next_attempt_time=None if state.settled else due,
    )


async def test_a_notification_is_stored_once_and_its_progress_saved(engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    with tenant_scope("acme"):
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            assert await uow.channel_inbox.add(notification("acme", "n1", 0, InboxState.RECEIVED))
            assert not await uow.channel_inbox.add(notification("acme", "n1", 5, InboxState.RECEIVED))
            stored = await uow.channel_inbox.get("acme", Channel.APP_STORE, "n1", for_update=True)
            assert stored is not None and stored.event_time == NOW
            stored.settle([AppliedEvent("APPLIED", "sub_1", "ct1")], NOW)
            await uow.channel_inbox.save(stored)
            await uow.commit()
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            again = await uow.channel_inbox.get("acme", Channel.APP_STORE, "n1")
            assert await uow.channel_inbox.get("other", Channel.APP_STORE, "n1") is None
    assert again is not None
    assert (again.state, again.applied, again.body) == (InboxState.APPLIED, stored.applied, stored.body)


async def test_due_notifications_are_claimed_oldest_event_first_each_by_one_worker(engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    with tenant_scope("acme"):
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            for index, minute in enumerate([5, 1, 3, 2, 4, 0]):
                await uow.channel_inbox.add(notification("acme", f"n{index}", minute, InboxState.FAILED))
            await uow.channel_inbox.add(notification("acme", "done", -1, InboxState.APPLIED))
            # NOTE: an attempt whose process died: received, its lease over.
            await uow.channel_inbox.add(notification("acme", "n8", 9, InboxState.RECEIVED))
            await uow.channel_inbox.add(notification("other", "n6", -3, InboxState.FAILED, NOW + timedelta(minutes=3)))
            await uow.channel_inbox.add(notification("ahead", "n7", -2, InboxState.FAILED, NOW + timedelta(minutes=3)))
            await uow.commit()
    # NOTE: `ahead` is a sandbox tenant whose clock moved 5 minutes on: its retry is due, `other`'s is not.
    times = TenantTimes(NOW, {"ahead": timedelta(minutes=5)})

    async def claim() -> list[InboxNotification]:
        with tenant_scope(""):
            async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
                claimed = await uow.channel_inbox.claim_due(times, 5, LEASE)
                await asyncio.sleep(0.2)  # both workers hold their rows at once
                await uow.commit()
                return claimed

    first, second = await asyncio.gather(claim(), claim())
    claimed = first + second
    assert sorted(n.notification_id for n in claimed) == [f"n{i}" for i in range(9) if i != 6]
    assert [n.event_time for n in first] == sorted(n.event_time for n in first)
    assert {n.next_attempt_time for n in claimed if n.tenant_id == "acme"} == {NOW + LEASE}
    assert {n.next_attempt_time for n in claimed if n.tenant_id == "ahead"} == {times.of("ahead") + LEASE}
    with tenant_scope(""):
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            assert await uow.channel_inbox.claim_due(times, 10, LEASE) == []  # leased
            assert await uow.channel_inbox.next_due_in(times) == LEASE


async def test_notifications_are_listed_newest_event_first_a_page_at_a_time_by_state(engine: AsyncEngine) -> None:
    clock = FixedClock(NOW)
    with tenant_scope("acme"):
        async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
            for minute in range(5):
                state = InboxState.PARKED if minute % 2 else InboxState.APPLIED
                await uow.channel_inbox.add(notification("acme", f"n{minute}", minute, state))
            await uow.channel_inbox.add(notification("other", "x", 9, InboxState.PARKED))
            await uow.commit()

        async def page(token: str, query: InboxQuery) -> tuple[list[str], str]:
            request = PageRequest.of(Listing(2, token))
            async with PostgresGatewayUnitOfWork(engine, "gateway", clock) as uow:
                listed = await uow.channel_inbox.list_page("acme", request, query)
            return [n.notification_id for n in listed.items], listed.next_page_token

        first, token = await page("", InboxQuery())
        rest, _ = await page(token, InboxQuery())
        parked, parked_token = await page("", InboxQuery(channel=Channel.APP_STORE, state=InboxState.PARKED))
    assert (first, rest) == (["n4", "n3"], ["n2", "n1"])
    assert (parked, parked_token) == (["n3", "n1"], "")
