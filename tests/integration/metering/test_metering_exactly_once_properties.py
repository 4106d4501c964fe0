"""Property: whatever the delivery order, duplication and batching (even concurrent), the totals are the same.

Each example is a set of events delivered as a shuffled list with repeats, cut into batches sent by two
concurrent producers, to a fresh tenant on real PostgreSQL; the usage read back must equal the usage
computed directly from the set.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azotte_metering.domain.ingestion import UsageEvent
from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.service_layer import meters
from azotte_metering.service_layer.ingest import ingest
from azotte_metering.service_layer.usage import UsageQuery, get_usage
from azotte_platform.context import tenant_scope
from tests.integration.metering.conftest import T0, Service

START = T0.replace(hour=0, minute=0) - timedelta(days=3)
END = T0.replace(hour=0, minute=0) + timedelta(days=1)
METERS = {
    "sum": Aggregation.SUM,
    "max": Aggregation.MAX,
    "latest": Aggregation.LATEST,
    "users": Aggregation.UNIQUE_COUNT,
    "calls": Aggregation.COUNT,
}

events = st.lists(
    st.tuples(
        st.sampled_from(["ana", "bob"]),
        st.integers(min_value=0, max_value=3 * 24 * 60 - 1),  # minutes before T0
        st.decimals(min_value=-1000, max_value=1000, places=2),
        st.sampled_from(["u1", "u2", "u3"]),
    ),
    min_size=1,
    max_size=25,
)


def usage_event(index: int, customer: str, minutes_ago: int, value: Decimal, user: str) -> UsageEvent:
    data = json.dumps({"v": str(value), "user": user})
    return UsageEvent(f"e{index}", "src", "ai.call", customer, T0 - timedelta(minutes=minutes_ago), data)


def expected(all_events: Sequence[UsageEvent], customer: str) -> dict[str, Decimal]:
    mine = [e for e in all_events if e.subject == customer]
    values = [(e.time, Decimal(json.loads(e.data)["v"])) for e in mine]
    if not mine:
        return {}
    return {
        "sum": sum((v for _, v in values), Decimal(0)),
        "max": max(v for _, v in values),
        "latest": max(values, key=lambda tv: (tv[0], tv[1]))[1],
        "users": Decimal(len({json.loads(e.data)["user"] for e in mine})),
        "calls": Decimal(len(mine)),
    }


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events, order=st.randoms(use_true_random=False), repeats=st.integers(min_value=0, max_value=10))
async def test_any_order_and_duplication_gives_the_same_totals(service: Service, events, order, repeats) -> None:
    tenant = f"p{uuid.uuid4().hex[:12]}"
    units = service.metering.uow
    the_set = [usage_event(i, *fields) for i, fields in enumerate(events)]
    with tenant_scope(tenant):
        for key, aggregation in METERS.items():
            path = "" if aggregation is Aggregation.COUNT else ("user" if key == "users" else "v")
            meter = Meter(tenant, key, key, "ai.call", path, aggregation, (), T0, T0)
            async with units.factory() as uow:
                await meters.create_meter(uow, meter)
                await uow.commit()
        delivery = the_set + [order.choice(the_set) for _ in range(repeats)]
        order.shuffle(delivery)
        cut = order.randint(0, len(delivery))

        async def send(batch: list[UsageEvent]) -> None:
            for start in range(0, len(batch), 7):
                async with units.factory() as uow:
                    await ingest(uow, tenant, batch[start : start + 7])

        await asyncio.gather(send(delivery[:cut]), send(delivery[cut:]))

        for customer in ("ana", "bob"):
            want = expected(the_set, customer)
            for key in METERS:
                async with units.factory() as uow:
                    found = await get_usage(uow, tenant, UsageQuery(customer, key, START, END))
                got = found.values[0].value if found.values else None
                assert got == want.get(key), (customer, key)
