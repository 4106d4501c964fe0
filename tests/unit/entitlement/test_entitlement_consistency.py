"""Consistency tokens: a check naming a write waits (bounded) until the projection reflects it."""

from __future__ import annotations

import asyncio

import pytest

from azotte_entitlement.domain.consistency import parse_token, token_of
from azotte_entitlement.domain.projection import CustomerRef
from azotte_entitlement.errors import ConsistencyNotReached
from azotte_entitlement.service_layer.consistency import ConsistencyGate
from azotte_platform.errors import InvalidArgument

CUSTOMER = ("acme", "cust-1")


class Store:
    """The inbox as the gate sees it, and the reloads it asks for."""

    def __init__(self) -> None:
        self.handled: set[str] = set()
        self.reloaded: list[CustomerRef] = []
        self.queries = 0

    async def handled_events(self, event_ids: frozenset[str]) -> set[str]:
        self.queries += 1
        return set(event_ids) & self.handled

    async def reload(self, customer: CustomerRef) -> bool:
        self.reloaded.append(customer)
        return True


def gate(store: Store, wait: float = 0.3) -> ConsistencyGate:
    return ConsistencyGate(store.handled_events, store.reload, wait_seconds=wait, poll_seconds=0.05)


async def test_a_token_already_applied_answers_at_once_without_asking_the_store() -> None:
    store = Store()
    consistency = gate(store)
    consistency.applied("ev-1")
    await consistency.reach(CUSTOMER, token_of("ev-1"))
    assert store.queries == 0
    assert consistency.position() == token_of("ev-1")


async def test_a_check_waits_until_the_event_is_applied() -> None:
    consistency = gate(Store(), wait=2.0)
    waiting = asyncio.create_task(consistency.reach(CUSTOMER, token_of("ev-1", "ev-2")))
    await asyncio.sleep(0.02)
    consistency.applied("ev-1")
    await asyncio.sleep(0.02)
    assert not waiting.done()
    consistency.applied("ev-2")
    await asyncio.wait_for(waiting, 0.5)


async def test_an_event_arriving_just_after_its_token_costs_no_store_query() -> None:
    store = Store()
    consistency = gate(store, wait=2.0)
    waiting = asyncio.create_task(consistency.reach(CUSTOMER, token_of("ev-1")))
    await asyncio.sleep(0.01)
    consistency.applied("ev-1")
    await asyncio.wait_for(waiting, 0.5)
    assert store.queries == 0


async def test_a_token_never_reached_is_unavailable_after_the_bounded_wait() -> None:
    consistency = gate(Store(), wait=0.1)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ConsistencyNotReached) as raised:
        await consistency.reach(CUSTOMER, token_of("ev-never"))
    assert raised.value.reason == "CONSISTENCY_NOT_REACHED"
    assert "consistency_token" in str(raised.value)
    assert 0.1 <= loop.time() - started < 0.5


async def test_an_event_applied_by_another_replica_reloads_the_customer_from_the_store() -> None:
    store = Store()
    store.handled.add("ev-elsewhere")
    consistency = gate(store)
    await consistency.reach(CUSTOMER, token_of("ev-elsewhere"))
    assert store.reloaded == [CUSTOMER]
    await consistency.reach(CUSTOMER, token_of("ev-elsewhere"))  # known now: no second query or reload
    assert (store.queries, store.reloaded) == (1, [CUSTOMER])


async def test_a_change_elsewhere_to_the_customer_makes_a_waiting_check_ask_the_store_at_once() -> None:
    store = Store()
    consistency = ConsistencyGate(
        store.handled_events, store.reload, wait_seconds=5.0, poll_seconds=5.0, first_ask_seconds=5.0
    )
    waiting = asyncio.create_task(consistency.reach(CUSTOMER, token_of("ev-elsewhere")))
    await asyncio.sleep(0.01)
    store.handled.add("ev-elsewhere")  # another replica applied it and committed
    consistency.changed_elsewhere(("acme", "someone-else"))
    await asyncio.sleep(0.05)
    assert not waiting.done() and store.queries == 0  # a change to another customer asks nothing
    consistency.changed_elsewhere(CUSTOMER)  # its entitlement events reach this replica
    await asyncio.wait_for(waiting, 0.5)
    assert (store.queries, store.reloaded) == (1, [CUSTOMER])


async def test_a_reload_raced_by_a_local_change_is_done_again_at_once() -> None:
    store = Store()
    store.handled.add("ev-elsewhere")
    answers = iter([False, True])

    async def reload(customer: CustomerRef) -> bool:
        store.reloaded.append(customer)
        return next(answers)

    consistency = ConsistencyGate(store.handled_events, reload, wait_seconds=5.0, poll_seconds=5.0)
    await asyncio.wait_for(consistency.reach(CUSTOMER, token_of("ev-elsewhere")), 0.5)
    assert store.reloaded == [CUSTOMER, CUSTOMER]


@pytest.mark.parametrize("token", ["garbage", "ct1.", "ct1.a..b", "ct1.bad id", "ct1." + ".".join(["e"] * 33)])
def test_a_malformed_token_is_invalid_argument_naming_the_field(token: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        parse_token(token)
    assert "consistency_token" in str(raised.value)
