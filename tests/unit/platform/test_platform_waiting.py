"""A background loop waiting with a timeout stops when it is cancelled, even as its wait ends."""

from __future__ import annotations

import asyncio

from azotte_platform.waiting import wait_at_most


async def _loop(event: asyncio.Event) -> None:
    while True:
        await wait_at_most(event, 10.0)
        event.clear()


async def test_a_cancel_arriving_as_the_event_is_set_stops_the_loop() -> None:
    event = asyncio.Event()
    task = asyncio.create_task(_loop(event))
    await asyncio.sleep(0.01)
    event.set()
    await asyncio.sleep(0)  # the wait is woken up ...
    task.cancel()  # ... and cancelled before it resumes
    done, _ = await asyncio.wait({task}, timeout=2.0)
    assert task in done and task.cancelled()


async def test_the_wait_ends_after_the_timeout_without_the_event() -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait_at_most(asyncio.Event(), 0.05)
    assert loop.time() - started >= 0.05
