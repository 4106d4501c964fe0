"""Ingesting usage events: per-event results naming the field, duplicates counted once, late events in their
window, usage.recorded per customer, and backpressure that loses nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, timedelta
from typing import Any

import pytest

from azotte.metering.v1 import events_pb2
from azotte_metering.domain.meters import Aggregation
from azotte_metering.errors import IngestSaturated, InvalidEventBatch
from azotte_metering.service_layer.ingest import GroupCommit, InFlight, Outcome
from azotte_metering.service_layer.usage import UsageQuery
from azotte_platform.clock import FixedClock
from tests.unit.metering.metering_fakes import T0, SharedUnits, UseCases, event

DAY = T0.replace(hour=0)


@pytest.fixture
async def use_cases() -> UseCases:
    use_cases = UseCases(FixedClock(T0))
    await use_cases.meter("tokens", Aggregation.SUM, value_path="usage.tokens", dimensions=["model"])
    await use_cases.meter("users", Aggregation.UNIQUE_COUNT, value_path="user", event_type="ai.session")
    return use_cases


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"id": ""}, "id", "is required"),
        ({"subject": ""}, "subject", "is required"),
        ({"source": "s\x00"}, "source", "must not contain a NUL character"),
        ({"id": "x" * 300}, "id", "must be at most 256 characters"),
        ({"specversion": "0.3"}, "specversion", 'must be "1.0"'),
        ({"time": T0 - timedelta(days=35, minutes=1)}, "time", "is more than 35 days in the past"),
        ({"time": T0 + timedelta(minutes=6)}, "time", "is more than 5 minutes in the future"),
        ({"data": "[1, 2]"}, "data", "must be a JSON object"),
        ({"data": "{not json"}, "data", "must be a JSON object"),
        ({"data": '{"usage": {"tokens": NaN}}'}, "data", "must be a JSON object"),
        (
            {"data": '{"usage": {"tokens": 1}, "x": "\\u0000"}'},
            "data",
            "must not contain NUL characters or lone surrogates",
        ),
        (
            {"data": '{"usage": {"tokens": 1}, "x": "\\ud800"}'},
            "data",
            "must not contain NUL characters or lone surrogates",
        ),
        ({"data": "{}"}, "data.usage.tokens", "is required: a number"),
        ({"data": '{"usage": {"tokens": true}}'}, "data.usage.tokens", "is required: a number"),
        ({"data": '{"usage": {"tokens": "lots"}}'}, "data.usage.tokens", "is required: a number"),
        (
            {"data": '{"usage": {"tokens": 1e30}}'},
            "data.usage.tokens",
            "must be between -1e18 and 1e18 with at most 18 decimals",
        ),
        (
            {"data": '{"usage": {"tokens": 1}, "model": {"a": 1}}'},
            "data.model",
            "must be a string, a number or a boolean",
        ),
        ({"data": "x" * 5000}, "data", "must be at most 4096 characters"),
    ],
)
async def test_a_bad_event_is_rejected_alone_naming_its_field(
    use_cases: UseCases, changes: dict[str, object], field: str, reason: str
) -> None:
    good = event("good", T0, {"usage": {"tokens": 2}}, type="ai.call")
    fields: dict[str, Any] = {"type": "ai.call", **changes}
    data = str(fields.pop("data", '{"usage": {"tokens": 1}}'))
    bad = event(str(fields.pop("id", "bad")), T0, data, **fields)

    results = await use_cases.ingest(bad, good)

    assert [(r.outcome, r.field, r.reason) for r in results] == [
        (Outcome.REJECTED, f"events[0].{field}", reason),
        (Outcome.ACCEPTED, "", ""),
    ]
    assert [v for _, v in await use_cases.usage(UsageQuery("ana", "tokens", DAY, DAY + timedelta(days=1)))] == ["2"]


async def test_decimal_strings_and_events_without_time_are_counted(use_cases: UseCases) -> None:
    await use_cases.ingest(
        event("a", T0, {"usage": {"tokens": "0.25"}}),
        event("b", None, {"usage": {"tokens": 1}}),  # type: ignore[arg-type]
    )

    assert await use_cases.usage(UsageQuery("ana", "tokens", DAY, DAY + timedelta(days=1))) == [
        ("10 00:00-11 00:00", "1.25")
    ]


async def test_duplicates_in_a_batch_and_across_batches_count_once(use_cases: UseCases) -> None:
    first = await use_cases.ingest(event("a", T0, {"usage": {"tokens": 5}}), event("a", T0, {"usage": {"tokens": 5}}))
    again = await use_cases.ingest(event("a", T0, {"usage": {"tokens": 5}}), event("b", T0, {"usage": {"tokens": 1}}))
    other_source = await use_cases.ingest(event("a", T0, {"usage": {"tokens": 3}}, source="other"))

    assert [r.outcome for r in first + again + other_source] == [
        Outcome.ACCEPTED,
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.ACCEPTED,
        Outcome.ACCEPTED,
    ]
    assert [v for _, v in await use_cases.usage(UsageQuery("ana", "tokens", DAY, DAY + timedelta(days=1)))] == ["9"]


async def test_a_late_event_is_counted_in_its_own_day_and_announced_with_its_time(use_cases: UseCases) -> None:
    late = DAY - timedelta(days=34)
    await use_cases.ingest(event("a", late, {"usage": {"tokens": 4}, "model": "gpt"}))
    await use_cases.ingest(event("b", late + timedelta(hours=1), {"usage": {"tokens": 6}, "model": "gpt"}))

    recorded = [events_pb2.UsageRecorded.FromString(e.payload.SerializeToString()) for e in use_cases.uow.published]
    last = recorded[-1]
    (group,) = last.usage
    assert (last.customer_id, group.meter_key, dict(group.dimensions), group.quantity) == (
        "ana",
        "tokens",
        {"model": "gpt"},
        "6",
    )
    assert group.first_event_time.ToDatetime(UTC) == late + timedelta(hours=1)
    assert use_cases.uow.published[-1].about == "ana"
    assert [v for _, v in await use_cases.usage(UsageQuery("ana", "tokens", late, late + timedelta(days=1)))] == ["10"]


async def test_usage_recorded_is_one_per_customer_with_each_group_and_none_for_duplicates(use_cases: UseCases) -> None:
    await use_cases.ingest(
        event("a", T0, {"usage": {"tokens": 1}, "model": "gpt"}),
        event("b", T0, {"usage": {"tokens": 2}, "model": "gpt"}),
        event("c", T0, {"usage": {"tokens": 4}, "model": "llama"}),
        event("s1", T0, {"user": "u1"}, type="ai.session"),
        event("s2", T0, {"user": "u1"}, type="ai.session"),
    )
    published = len(use_cases.uow.published)
    await use_cases.ingest(event("a", T0, {"usage": {"tokens": 1}, "model": "gpt"}))

    recorded = [events_pb2.UsageRecorded.FromString(e.payload.SerializeToString()) for e in use_cases.uow.published]
    assert [r.customer_id for r in recorded] == ["ana"]
    assert [
        (g.meter_key, dict(g.dimensions).get("model", ""), g.quantity, g.event_count) for g in recorded[0].usage
    ] == [
        ("tokens", "gpt", "3", 2),
        ("tokens", "llama", "4", 1),
        ("users", "", "2", 2),
    ]
    assert len(use_cases.uow.published) == published


async def test_usage_recorded_adds_up_a_groups_minutes_with_its_first_and_last_event_and_latest_value(
    use_cases: UseCases,
) -> None:
    await use_cases.meter("seats", Aggregation.LATEST, value_path="seats", event_type="seats")
    minute = timedelta(minutes=1)
    await use_cases.ingest(
        event("s3", T0 + 2 * minute, {"seats": 7}, type="seats"),
        event("s1", T0, {"seats": 9}, type="seats"),
        event("s2", T0 + minute + timedelta(seconds=5), {"seats": 4}, type="seats"),
        event("s4", T0 + minute, {"seats": 5}, type="seats"),
        event("t1", T0 + 3 * minute, {"usage": {"tokens": 2}, "model": "gpt"}),
        event("t2", T0 - minute, {"usage": {"tokens": 3}, "model": "gpt"}),
    )

    (recorded,) = [events_pb2.UsageRecorded.FromString(e.payload.SerializeToString()) for e in use_cases.uow.published]
    assert [
        (g.meter_key, g.quantity, g.event_count, g.first_event_time.ToDatetime(UTC), g.last_event_time.ToDatetime(UTC))
        for g in recorded.usage
    ] == [
        ("seats", "7", 4, T0, T0 + 2 * minute),
        ("tokens", "5", 2, T0 - minute, T0 + 3 * minute),
    ]


async def test_an_event_no_meter_counts_is_stored_but_announces_nothing(use_cases: UseCases) -> None:
    results = await use_cases.ingest(event("x", T0, {"anything": 1}, type="unmetered"))

    assert [r.outcome for r in results] == [Outcome.ACCEPTED]
    assert use_cases.uow.published == []


async def test_an_empty_or_oversized_batch_is_refused(use_cases: UseCases) -> None:
    with pytest.raises(InvalidEventBatch):
        await use_cases.ingest()
    with pytest.raises(InvalidEventBatch):
        await use_cases.ingest(*(event(f"e{i}", T0, {}) for i in range(10_001)))


async def test_a_saturated_ingest_pushes_back_with_a_delay_and_a_stream_waits_for_room() -> None:
    in_flight = InFlight(max_events=100, retry_after_s=2)
    order: list[str] = []

    async def stream_batch() -> None:
        async with in_flight.wait(60):
            order.append("stream admitted")

    async with in_flight.admit(60):
        with pytest.raises(IngestSaturated) as raised:
            async with in_flight.admit(60):
                pass
        waiting = asyncio.create_task(stream_batch())
        await asyncio.sleep(0)
        order.append("first done")
    await waiting

    assert raised.value.metadata == {"retry_after_seconds": "2"}
    assert order == ["first done", "stream admitted"]
    assert in_flight.held == 0


async def test_concurrent_batches_of_a_tenant_are_stored_in_one_transaction_each_answered_on_its_own(
    use_cases: UseCases,
) -> None:
    units = SharedUnits(use_cases)
    group = GroupCommit(units)
    tokens = [event(f"t{i}", T0, {"usage": {"tokens": i}, "model": "gpt"}) for i in range(1, 4)]

    first, second, third = await asyncio.gather(
        group.ingest("acme", tokens[:2]),
        group.ingest("acme", [tokens[1], event("bad", T0, {}), tokens[2]]),
        group.ingest("acme", [tokens[2]]),
    )

    assert [(r.index, r.id, r.outcome) for r in first] == [(0, "t1", Outcome.ACCEPTED), (1, "t2", Outcome.ACCEPTED)]
    assert [(r.index, r.outcome, r.field) for r in second] == [
        (0, Outcome.DUPLICATE, ""),
        (1, Outcome.REJECTED, "events[1].data.usage.tokens"),
        (2, Outcome.ACCEPTED, ""),
    ]
    assert [r.outcome for r in third] == [Outcome.DUPLICATE]
    assert units.committed == 1
    recorded = [events_pb2.UsageRecorded.FromString(e.payload.SerializeToString()) for e in use_cases.uow.published]
    assert [(g.quantity, g.event_count) for r in recorded for g in r.usage] == [("6", 3)]
    assert await use_cases.usage(UsageQuery("ana", "tokens", DAY, DAY + timedelta(days=1))) == [
        ("10 00:00-11 00:00", "6")
    ]


async def test_a_failed_transaction_fails_every_batch_in_it_and_keeps_none(
    use_cases: UseCases, monkeypatch: pytest.MonkeyPatch
) -> None:
    group = GroupCommit(SharedUnits(use_cases))
    batches = [[event("a", T0, {"usage": {"tokens": 1}})], [event("b", T0, {"usage": {"tokens": 2}})]]

    async def unreachable(*args: Any) -> Any:
        raise ConnectionError("the database went away")

    with monkeypatch.context() as patched:
        patched.setattr(use_cases.uow.usage, "store", unreachable)
        failures = await asyncio.gather(*(group.ingest("acme", b) for b in batches), return_exceptions=True)
    with pytest.raises(InvalidEventBatch):
        await group.ingest("acme", [])
    retried = await asyncio.gather(*(group.ingest("acme", b) for b in batches))

    assert [type(f) for f in failures] == [ConnectionError, ConnectionError]
    assert [[r.outcome for r in results] for results in retried] == [[Outcome.ACCEPTED], [Outcome.ACCEPTED]]
    assert await use_cases.usage(UsageQuery("ana", "tokens", DAY, DAY + timedelta(days=1))) == [
        ("10 00:00-11 00:00", "3")
    ]


async def test_a_batch_over_many_customers_is_stored_in_their_lanes_and_answered_in_its_order(
    use_cases: UseCases,
) -> None:
    group = GroupCommit(SharedUnits(use_cases), lanes=3)
    customers = [f"cus-{n}" for n in range(8)]
    batch = [event(f"e-{c}", T0, {"usage": {"tokens": n + 1}}, subject=c) for n, c in enumerate(customers)]

    first, again = await asyncio.gather(
        group.ingest("acme", [*batch, event("bad", T0, {})]), group.ingest("acme", batch[2:4])
    )

    assert [(r.index, r.id) for r in first] == [(n, e.id) for n, e in enumerate(batch)] + [(8, "bad")]
    assert [r.outcome for r in first] == [Outcome.ACCEPTED] * 8 + [Outcome.REJECTED]
    assert [r.outcome for r in again] == [Outcome.DUPLICATE] * 2
    for n, customer in enumerate(customers):
        window = UsageQuery(customer, "tokens", DAY, DAY + timedelta(days=1))
        assert [v for _, v in await use_cases.usage(window)] == [str(n + 1)]
