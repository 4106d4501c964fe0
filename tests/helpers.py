"""Small helpers shared by tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(probe: Callable[[], Awaitable[T]], *, within: float = 15.0, interval: float = 0.05) -> T:
    """Poll `probe` until it returns a truthy value (or stops raising AssertionError), up to `within` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        try:
            result = await probe()
            if result:
                return result
        except AssertionError:
            if loop.time() > deadline:
                raise
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within}s (last value {result!r})")
        await asyncio.sleep(interval)
