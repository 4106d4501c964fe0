"""Read-your-writes at the gateway: a key's own write, or a token passed, is never answered from older state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte_gateway.domain.access_cache import RecentWrites
from azotte_gateway.domain.permissions import Principal, Role
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import AccessReader
from azotte_gateway.service_layer.auth import Caller
from azotte_platform.clock import FixedClock
from tests.unit.gateway.fakes import NOW, TENANT

CUSTOMER = "cus_1"


def key(api_key_id: str) -> Caller:
    return Caller(Principal(TENANT.id, TENANT.mode, api_key_id, Role.ADMIN), TENANT)


@dataclass
class Entitlement:
    """Answers `allowed` until a write is applied; records the tokens it was asked to reach."""

    allowed: bool = True
    asked: list[str] = field(default_factory=list)

    async def CheckAccess(self, request: ent.CheckAccessRequest) -> ent.CheckAccessResponse:
        self.asked.append(request.consistency_token)
        return ent.CheckAccessResponse(allowed=self.allowed, consistency_token="ct1.now")


@dataclass
class StubPeers:
    entitlement: Entitlement


def reader(entitlement: Entitlement) -> AccessReader:
    peers = cast(Peers, StubPeers(entitlement))
    return AccessReader(peers, FixedClock(NOW), ttl_seconds=60, settle_seconds=0, max_customers=100)


async def test_the_writers_next_check_reaches_its_write_and_skips_the_cache() -> None:
    entitlement = Entitlement()
    access = reader(entitlement)
    writer, other = key("key_writer"), key("key_other")
    assert (await access.check(TENANT.id, CUSTOMER, "hd"))[0].allowed  # cached now
    entitlement.allowed = False  # the pause, applied by entitlement
    access.wrote(writer, CUSTOMER, "ct1.pause")
    token = access.token_for(writer, CUSTOMER, "")
    decision, reflects = await access.check(TENANT.id, CUSTOMER, "hd", token)
    assert (token, decision.allowed, reflects) == ("ct1.pause", False, "ct1.now")
    assert entitlement.asked[-1] == "ct1.pause"
    # another key passes no token and asks the current state (the write dropped the cached answer)
    assert access.token_for(other, CUSTOMER, "") == ""
    assert not (await access.check(TENANT.id, CUSTOMER, "hd"))[0].allowed


async def test_a_token_passed_by_the_caller_wins_and_a_check_with_a_token_never_answers_from_the_cache() -> None:
    entitlement = Entitlement()
    access = reader(entitlement)
    await access.check(TENANT.id, CUSTOMER, "hd")
    entitlement.allowed = False  # applied, but this replica missed the event: the cache still says allowed
    assert (await access.check(TENANT.id, CUSTOMER, "hd"))[0].allowed
    assert access.token_for(key("key_device"), CUSTOMER, "ct1.given") == "ct1.given"
    assert not (await access.check(TENANT.id, CUSTOMER, "hd", "ct1.given"))[0].allowed


def test_a_remembered_write_is_forgotten_after_its_time_and_beyond_the_bound() -> None:
    now = [0.0]
    writes = RecentWrites(ttl_seconds=10.0, max_entries=2, monotonic=lambda: now[0])
    writes.remember(("t", "k", "a"), "ct1.a")
    writes.remember(("t", "k", "b"), "ct1.b")
    assert writes.token(("t", "k", "a")) == "ct1.a"
    assert writes.token(("t", "other", "a")) == ""
    writes.remember(("t", "k", "c"), "ct1.c")  # the oldest goes
    assert writes.token(("t", "k", "a")) == ""
    now[0] = 10.0
    assert writes.token(("t", "k", "b")) == ""
