"""Another service's answers kept per tenant: until a change of that tenant is announced, everything is cleared,
or they expire; an answer loaded across a change is not kept."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from azotte.catalog.v1 import catalog_pb2
from azotte_platform.catalog_prices import price_holds
from azotte_platform.context import tenant_scope
from azotte_platform.convert import timestamp
from azotte_platform.tenant_cache import TenantCache


class Source:
    """Answers `<tenant>:<key>#<version>`, counting the loads."""

    def __init__(self) -> None:
        self.version = 1
        self.loads = 0

    def loader(self, tenant_id: str, key: str):
        async def load() -> str:
            self.loads += 1
            return f"{tenant_id}:{key}#{self.version}"

        return load


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def ask(cache: TenantCache[str, str], source: Source, tenant_id: str, key: str) -> str:
    with tenant_scope(tenant_id):
        return await cache.get(key, source.loader(tenant_id, key))


async def test_answers_are_kept_per_tenant_until_the_tenant_changes() -> None:
    cache: TenantCache[str, str] = TenantCache(60)
    source = Source()
    assert [await ask(cache, source, t, "basic") for t in ("acme", "acme", "globex")] == [
        "acme:basic#1",
        "acme:basic#1",
        "globex:basic#1",
    ]
    assert source.loads == 2

    source.version = 2
    cache.invalidate("acme")
    assert await ask(cache, source, "acme", "basic") == "acme:basic#2"
    assert await ask(cache, source, "globex", "basic") == "globex:basic#1"


async def test_clearing_forgets_every_tenant_and_answers_expire() -> None:
    clock = Clock()
    cache: TenantCache[str, str] = TenantCache(10, clock)
    source = Source()
    await ask(cache, source, "acme", "basic")
    await ask(cache, source, "globex", "basic")
    source.version = 2
    await cache.clear()
    assert await ask(cache, source, "globex", "basic") == "globex:basic#2"

    source.version = 3
    clock.now = 9.0
    assert await ask(cache, source, "globex", "basic") == "globex:basic#2"
    clock.now = 10.5
    assert await ask(cache, source, "globex", "basic") == "globex:basic#3"


async def test_an_answer_loaded_across_a_change_is_returned_but_not_kept() -> None:
    cache: TenantCache[str, str] = TenantCache(60)
    loading, changed = asyncio.Event(), asyncio.Event()

    async def slow() -> str:
        loading.set()
        await changed.wait()
        return "old"

    async def load_slowly() -> str:
        with tenant_scope("acme"):
            return await cache.get("basic", slow)

    pending = asyncio.create_task(load_slowly())
    await loading.wait()
    cache.invalidate("acme")
    changed.set()
    assert await pending == "old"
    source = Source()
    assert await ask(cache, source, "acme", "basic") == "acme:basic#1"
    assert source.loads == 1


async def test_a_time_to_live_of_zero_keeps_nothing() -> None:
    cache: TenantCache[str, str] = TenantCache(0)
    source = Source()
    await ask(cache, source, "acme", "basic")
    await ask(cache, source, "acme", "basic")
    assert source.loads == 2


async def test_a_kept_answer_that_no_longer_holds_is_loaded_again_and_kept() -> None:
    cache: TenantCache[str, str] = TenantCache(60)
    source = Source()
    with tenant_scope("acme"):
        assert await cache.get("basic", source.loader("acme", "basic"), holds=lambda kept: True) == "acme:basic#1"
        source.version = 2
        assert await cache.get("basic", source.loader("acme", "basic"), holds=lambda kept: kept.endswith("#2")) == (
            "acme:basic#2"
        )
        assert await cache.get("basic", source.loader("acme", "basic"), holds=lambda kept: kept.endswith("#2")) == (
            "acme:basic#2"
        )
    assert source.loads == 2


def test_a_price_holds_from_its_version_until_the_next() -> None:
    start, rise = datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 2, 1, tzinfo=UTC)
    answer = catalog_pb2.ResolvePriceResponse(effective_time=timestamp(start), next_change_time=timestamp(rise))
    moments = (start - timedelta(seconds=1), start, rise - timedelta(microseconds=1), rise)
    assert [price_holds(answer, at) for at in moments] == [False, True, True, False]
    assert price_holds(catalog_pb2.ResolvePriceResponse(effective_time=timestamp(start)), rise)  # none scheduled
