"""Another service's answers kept per tenant: dropped when that service announces a change of the tenant, all of
them when its announcements may have been missed, and each after a time-to-live in any case."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection, Hashable
from typing import Any, Generic, TypeVar

from azotte_platform.context import require_tenant
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.events.follow import follow_events
from azotte_platform.runtime import Runtime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TenantCache(Generic[K, V]):
    """Answers by (tenant of the request context, key), each kept for `ttl_seconds`.

    NOTE: an answer loaded while its tenant was invalidated is returned but not kept: it may predate the change.
    """

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic):
        self._ttl = ttl_seconds
        self._clock = clock
        self._answers: dict[str, dict[K, tuple[float, V]]] = {}
        self._generations: dict[str, int] = {}
        self._epoch = 0

    async def get(
        self,
        key: K,
        load: Callable[[], Awaitable[V]],
        *,
        fresh: bool = False,
        holds: Callable[[V], bool] | None = None,
    ) -> V:
        """The answer for `key` in the caller's tenant: kept, or `load()`ed and kept (`fresh`: loaded anyway; a kept
        answer for which `holds` is false is loaded again)."""
        tenant_id = require_tenant()
        now = self._clock()
        kept = self._answers.get(tenant_id, {}).get(key)
        if kept is not None and kept[0] > now and not fresh and (holds is None or holds(kept[1])):
            return kept[1]
        generation = self._generation(tenant_id)
        answer = await load()
        if self._ttl > 0 and self._generation(tenant_id) == generation:
            self._answers.setdefault(tenant_id, {})[key] = (now + self._ttl, answer)
        return answer

    def invalidate(self, tenant_id: str) -> None:
        """Forget the tenant's answers (its source changed)."""
        self._answers.pop(tenant_id, None)
        self._generations[tenant_id] = self._generations.get(tenant_id, 0) + 1

    async def clear(self) -> None:
        """Forget every answer (changes may have been missed, e.g. while NATS was unreachable)."""
        self._answers.clear()
        self._epoch += 1

    def _generation(self, tenant_id: str) -> tuple[int, int]:
        return self._epoch, self._generations.get(tenant_id, 0)


def follow_changes(
    runtime: Runtime, producer: str, *caches: TenantCache[Any, Any], event_types: Collection[str] = ()
) -> None:
    """Keep `caches` of `producer`'s answers current: every event it publishes (of `event_types`, when given)
    invalidates its tenant, and a NATS reconnection (events may have been missed) clears everything."""

    def changed(event: ReceivedEvent) -> None:
        if event_types and event.type not in event_types:
            return
        for cache in caches:
            cache.invalidate(event.tenant_id)

    async def follow() -> None:
        await follow_events(runtime.nats, producer, changed)

    runtime.spawn(follow)
    for cache in caches:
        runtime.on_reconnect(cache.clear)
