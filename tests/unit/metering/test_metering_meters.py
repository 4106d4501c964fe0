"""Meters: validation naming the field, unique keys, listing in pages, and updates that cannot change what a
meter counts once it counted events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from azotte_metering.domain.meters import Aggregation, Meter
from azotte_metering.errors import InvalidMeter, MeterExists, MeterHasEvents, MeterNotFound
from azotte_metering.ports import MeterQuery
from azotte_metering.service_layer import meters
from azotte_platform.clock import FixedClock
from azotte_platform.paging import PageRequest
from tests.unit.metering.metering_fakes import T0, TENANT, UseCases, event


@pytest.fixture
def use_cases() -> UseCases:
    return UseCases(FixedClock(T0))


def meter(**changes: object) -> Meter:
    values: dict[str, object] = {
        "tenant_id": TENANT,
        "key": "tokens",
        "display_name": "Tokens",
        "event_type": "ai.call",
        "value_path": "$.tokens",
        "aggregation": Aggregation.SUM,
        "dimensions": ("model",),
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(changes)
    return Meter(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"key": "Tokens!"}, "meter.key"),
        ({"display_name": " "}, "meter.display_name"),
        ({"event_type": ""}, "meter.event_type"),
        ({"value_path": ""}, "meter.value_path"),
        ({"value_path": "$.a..b"}, "meter.value_path"),
        ({"aggregation": Aggregation.COUNT}, "meter.value_path"),
        ({"dimensions": ("model", "$.model")}, "meter.dimensions[1]"),
        ({"dimensions": ("bad path",)}, "meter.dimensions[0]"),
        ({"dimensions": tuple(f"d{i}" for i in range(9))}, "meter.dimensions"),
    ],
)
def test_a_meter_that_does_not_make_sense_names_its_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidMeter) as raised:
        meter(**changes).validated()

    assert raised.value.violations[0].field == field


async def test_a_key_is_unique_in_the_tenant(use_cases: UseCases) -> None:
    async with use_cases.uow:
        await meters.create_meter(use_cases.uow, meter())
        with pytest.raises(MeterExists):
            await meters.create_meter(use_cases.uow, meter(display_name="Again"))
        other = await meters.create_meter(use_cases.uow, meter(tenant_id="other"))

    assert other.tenant_id == "other"


async def test_meters_are_listed_in_key_order_page_by_page(use_cases: UseCases) -> None:
    async with use_cases.uow:
        for key in ("c", "a", "b"):
            await meters.create_meter(use_cases.uow, meter(key=key))

        class Request:
            page_size = 2
            page_token = ""

        first = await meters.list_meters(use_cases.uow, TENANT, MeterQuery(), PageRequest.of(Request(), "meters"))
        Request.page_token = first.next_page_token
        second = await meters.list_meters(use_cases.uow, TENANT, MeterQuery(), PageRequest.of(Request(), "meters"))

    assert [m.key for m in first.items] + [m.key for m in second.items] == ["a", "b", "c"]
    assert second.next_page_token == ""


async def test_what_a_meter_counts_is_frozen_once_it_counted_events(use_cases: UseCases) -> None:
    await use_cases.meter("tokens", Aggregation.SUM, value_path="tokens")
    async with use_cases.uow:
        before = await meters.update_meter(use_cases.uow, TENANT, "tokens", {"aggregation": Aggregation.MAX})
    await use_cases.ingest(event("a", T0, {"tokens": 1}))
    use_cases.clock.advance(timedelta(minutes=1))

    async with use_cases.uow:
        renamed = await meters.update_meter(use_cases.uow, TENANT, "tokens", {"display_name": "AI tokens"})
        with pytest.raises(MeterHasEvents) as raised:
            await meters.update_meter(use_cases.uow, TENANT, "tokens", {"aggregation": Aggregation.SUM})
        with pytest.raises(MeterNotFound):
            await meters.update_meter(use_cases.uow, "other", "tokens", {"display_name": "x"})

    assert before.aggregation is Aggregation.MAX
    assert (renamed.display_name, renamed.aggregation, renamed.updated_at) == (
        "AI tokens",
        Aggregation.MAX,
        T0 + timedelta(minutes=1),
    )
    assert raised.value.metadata == {"fields": "aggregation"}
