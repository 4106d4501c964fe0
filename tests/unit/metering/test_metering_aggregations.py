"""Each aggregation answered from rollups: SUM, COUNT, MIN, MAX, AVG, UNIQUE_COUNT and LATEST, by window,
granularity and dimension; and the buckets a window is read from."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_metering.domain.meters import Aggregation
from azotte_metering.domain.usage import LEVELS, Granularity, cover
from azotte_metering.errors import InvalidUsageQuery
from azotte_metering.service_layer.usage import UsageQuery
from azotte_platform.clock import FixedClock
from tests.unit.metering.metering_fakes import T0, UseCases, event

DAY = T0.replace(hour=0)
WHOLE_DAY = (DAY, DAY + timedelta(days=1))


@pytest.fixture
def use_cases() -> UseCases:
    return UseCases(FixedClock(T0))


async def values_of(use_cases: UseCases, aggregation: Aggregation, values: list[object]) -> str:
    await use_cases.meter("m", aggregation)
    await use_cases.ingest(*(event(f"e{i}", T0 - timedelta(minutes=i), {"v": v}) for i, v in enumerate(values)))
    [(_, value)] = await use_cases.usage(UsageQuery("ana", "m", *WHOLE_DAY))
    return value


@pytest.mark.parametrize(
    ("aggregation", "expected"),
    [
        (Aggregation.SUM, "16.5"),
        (Aggregation.COUNT, "4"),
        (Aggregation.MIN, "-2"),
        (Aggregation.MAX, "10"),
        (Aggregation.AVG, "4.125"),
        # NOTE: the first event (0 minutes ago) is the latest: 10.
        (Aggregation.LATEST, "10"),
    ],
)
async def test_numeric_aggregations_over_a_window(use_cases: UseCases, aggregation: Aggregation, expected: str) -> None:
    assert await values_of(use_cases, aggregation, [10, "8.5", -2, 0]) == expected


async def test_unique_count_counts_a_value_seen_in_several_hours_once(use_cases: UseCases) -> None:
    await use_cases.meter("users", Aggregation.UNIQUE_COUNT, value_path="user")
    await use_cases.ingest(
        event("a", T0 - timedelta(hours=3), {"user": "u1"}),
        event("b", T0 - timedelta(hours=2), {"user": "u1"}),
        event("c", T0 - timedelta(hours=1), {"user": "u2"}),
        event("d", T0 - timedelta(minutes=1), {"user": 7}),
    )

    whole = await use_cases.usage(UsageQuery("ana", "users", *WHOLE_DAY))
    hourly = await use_cases.usage(UsageQuery("ana", "users", T0 - timedelta(hours=3), T0, Granularity.HOUR))

    assert [value for _, value in whole] == ["3"]
    assert [value for _, value in hourly] == ["1", "1", "2"]


async def test_latest_is_the_value_of_the_latest_event_whatever_the_arrival_order(use_cases: UseCases) -> None:
    await use_cases.meter("seats", Aggregation.LATEST, value_path="seats")
    await use_cases.ingest(event("new", T0, {"seats": 4}))
    await use_cases.ingest(event("old", T0 - timedelta(hours=1), {"seats": 9}))
    await use_cases.ingest(event("tie", T0, {"seats": 3}))

    assert await use_cases.usage(UsageQuery("ana", "seats", *WHOLE_DAY)) == [("10 00:00-11 00:00", "4")]


async def test_usage_groups_by_a_dimension_and_cuts_buckets_at_the_window(use_cases: UseCases) -> None:
    await use_cases.meter("tokens", Aggregation.SUM, value_path="tokens", dimensions=["model", "$.region"])
    await use_cases.ingest(
        event("a", T0 - timedelta(minutes=90), {"tokens": 5, "model": "gpt", "region": "eu"}),
        event("b", T0 - timedelta(minutes=50), {"tokens": 7, "model": "gpt", "region": "us"}),
        event("c", T0 - timedelta(minutes=10), {"tokens": 1, "model": "llama"}),
    )

    query = UsageQuery("ana", "tokens", T0 - timedelta(minutes=95), T0, Granularity.HOUR, ("model",))

    assert await use_cases.usage(query) == [
        ("10 10:25-10 11:00", "5", "gpt"),
        ("10 11:00-10 12:00", "7", "gpt"),
        ("10 11:00-10 12:00", "1", "llama"),
    ]


async def test_usage_of_another_customer_or_tenant_is_not_mixed_in(use_cases: UseCases) -> None:
    await use_cases.meter("m", Aggregation.SUM)
    await use_cases.ingest(event("a", T0, {"v": 1}), event("b", T0, {"v": 2}, customer="bob"))

    assert [v for _, v in await use_cases.usage(UsageQuery("ana", "m", *WHOLE_DAY))] == ["1"]
    assert await use_cases.usage(UsageQuery("carl", "m", *WHOLE_DAY)) == []


@pytest.mark.parametrize(
    ("query", "field"),
    [
        (UsageQuery("ana", "m", DAY + timedelta(seconds=30), DAY + timedelta(days=1)), "start_time"),
        (UsageQuery("ana", "m", DAY, DAY), "end_time"),
        (UsageQuery("ana", "m", DAY, DAY + timedelta(days=3), Granularity.MINUTE), "end_time"),
        (UsageQuery("", "m", DAY, DAY + timedelta(days=1)), "customer_id"),
        (UsageQuery("ana", "m", DAY, DAY + timedelta(days=1), None, ("model",)), "group_by[0]"),
    ],
)
async def test_a_bad_usage_query_names_its_field(use_cases: UseCases, query: UsageQuery, field: str) -> None:
    await use_cases.meter("m", Aggregation.SUM)

    with pytest.raises(InvalidUsageQuery) as raised:
        await use_cases.usage(query)

    assert raised.value.violations[0].field == field


minutes = st.integers(min_value=0, max_value=3 * 24 * 60 * 40)
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@given(first=minutes, length=st.integers(min_value=1, max_value=200_000), coarsest=st.sampled_from(LEVELS))
def test_a_window_is_covered_exactly_by_whole_buckets_that_stay_in_one_coarsest_bucket(
    first: int, length: int, coarsest: Granularity
) -> None:
    start = BASE + timedelta(minutes=first)
    end = start + timedelta(minutes=length)

    spans = cover(start, end, coarsest)

    assert spans[0].start == start and spans[-1].end == end
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))
    for span in spans:
        assert span.granularity.floor(span.start) == span.start and span.granularity.floor(span.end) == span.end
        if span.granularity is not coarsest:
            assert coarsest.floor(span.start) == coarsest.floor(span.end - span.granularity.step)
        assert LEVELS.index(span.granularity) <= LEVELS.index(coarsest)
    assert len(spans) <= 2 * LEVELS.index(coarsest) + 1
