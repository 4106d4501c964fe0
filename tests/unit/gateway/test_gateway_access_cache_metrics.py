"""The gateway's edge cache of access checks: counted by result, so its hit rate can be watched, and never used
past the moment the answer changes by itself (a quota resets)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import cast

from prometheus_client import REGISTRY

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import AccessReader
from azotte_platform.clock import FixedClock
from azotte_platform.convert import timestamp
from azotte_platform.events.envelope import SUBJECT_HEADER, ReceivedEvent
from tests.unit.gateway.fakes import NOW, TENANT


@dataclass
class Entitlement:
    asked: int = 0
    answer: ent.CheckAccessResponse = field(
        default_factory=lambda: ent.CheckAccessResponse(allowed=True, consistency_token="ct1.now")
    )

    async def CheckAccess(self, request: ent.CheckAccessRequest) -> ent.CheckAccessResponse:
        self.asked += 1
        return self.answer


@dataclass
class StubPeers:
    entitlement: Entitlement = field(default_factory=Entitlement)


def lookups() -> dict[str, float]:
    return {
        result: REGISTRY.get_sample_value("azotte_access_cache_lookups_total", {"result": result}) or 0.0
        for result in ("hit", "miss", "bypass")
    }


def counted_since(before: dict[str, float]) -> dict[str, float]:
    return {result: count - before[result] for result, count in lookups().items()}


async def test_a_repeated_check_is_a_hit_an_invalidated_one_a_miss_and_a_token_bypasses_the_cache() -> None:
    peers = StubPeers()
    reader = AccessReader(cast(Peers, peers), FixedClock(NOW), ttl_seconds=60, settle_seconds=0, max_customers=100)
    before = lookups()

    await reader.check(TENANT.id, "cus_1", "hd")
    await reader.check(TENANT.id, "cus_1", "hd")
    await reader.check(TENANT.id, "cus_1", "hd")
    assert counted_since(before) == {"hit": 2, "miss": 1, "bypass": 0}

    event = ReceivedEvent(
        "e1", "entitlement.changed", "azotte/entitlement", TENANT.id, NOW, "", "", b"", {SUBJECT_HEADER: "cus_1"}
    )
    reader.on_entitlement_event(event)
    await reader.check(TENANT.id, "cus_1", "hd")
    await reader.check(TENANT.id, "cus_1", "hd", "ct1.given")
    assert counted_since(before) == {"hit": 2, "miss": 2, "bypass": 1}
    assert peers.entitlement.asked == 3  # only the misses and the bypass reached entitlement


async def test_an_exhausted_quota_is_not_answered_from_the_cache_once_it_resets() -> None:
    peers = StubPeers()
    resets = NOW + timedelta(hours=1)
    peers.entitlement.answer = ent.CheckAccessResponse(
        allowed=False, reason=ent.ACCESS_REASON_QUOTA_EXHAUSTED, limit=100, used=100, remaining=0
    )
    peers.entitlement.answer.usage_period_end.CopyFrom(timestamp(resets))
    clock = FixedClock(NOW)
    reader = AccessReader(cast(Peers, peers), clock, ttl_seconds=600, settle_seconds=0, max_customers=100)

    decision, _ = await reader.check(TENANT.id, "cus_1", "downloads")
    assert decision.quota_reset_time == timestamp(resets)
    clock.set(resets - timedelta(seconds=1))
    await reader.check(TENANT.id, "cus_1", "downloads")
    assert peers.entitlement.asked == 1
    clock.set(resets)
    await reader.check(TENANT.id, "cus_1", "downloads")
    assert peers.entitlement.asked == 2  # the quota reset: entitlement is asked again
