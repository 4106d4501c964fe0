"""The gateway counts its access checks by cache result, so the cache's hit rate can be watched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from prometheus_client import REGISTRY

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import AccessReader
from azotte_platform.clock import FixedClock
from azotte_platform.events.envelope import SUBJECT_HEADER, ReceivedEvent
from tests.unit.gateway.fakes import NOW, TENANT


@dataclass
class Entitlement:
    asked: int = 0

    async def CheckAccess(self, request: ent.CheckAccessRequest) -> ent.CheckAccessResponse:
        self.asked += 1
        return ent.CheckAccessResponse(allowed=True, consistency_token="ct1.now")


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
