"""Usage through the gateway: events reported over REST and gRPC, counted once, read back per meter and
dimension, exported as CSV; the role matrix, tenant isolation and bad events named one by one."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import usage_pb2 as gu
from azotte.gateway.v1 import usage_pb2_grpc
from azotte.metering.v1 import metering_pb2 as me
from tests.e2e.conftest import RunningSuite, TenantApi


def rid() -> str:
    return uuid.uuid4().hex


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def minute(moment: datetime) -> str:
    return moment.replace(second=0, microsecond=0).isoformat().replace("+00:00", "Z")


def cloud_event(customer: str, tokens: Any, model: str = "gpt", **fields: Any) -> dict[str, Any]:
    event = {
        "specversion": "1.0",
        "id": rid(),
        "source": "chat-backend",
        "type": "ai.tokens",
        "subject": customer,
        "time": datetime.now(UTC).isoformat(),
        "data": {"tokens": tokens, "model": model},
    }
    event.update(fields)
    return event


async def tokens_meter(tenant: TenantApi) -> str:
    key = f"tokens-{uuid.uuid4().hex[:6]}"
    meter = {
        "key": key,
        "display_name": "AI tokens",
        "event_type": "ai.tokens",
        "value_path": "$.tokens",
        "aggregation": "AGGREGATION_SUM",
        "dimensions": ["model"],
    }
    await tenant.ok("POST", "/v1/meters", json={"request_id": rid(), "meter": meter})
    return key


async def usage_of(tenant: TenantApi, customer: str, meter: str, **params: Any) -> Any:
    now = datetime.now(UTC)
    window = {
        "meter_key": meter,
        "start_time": minute(now - timedelta(hours=1)),
        "end_time": minute(now + timedelta(minutes=2)),
    }
    return await tenant.call("GET", f"/v1/customers/{customer}/usage", params={**window, **params})


@pytest.fixture(scope="module")
async def metered(tenant: TenantApi) -> tuple[str, str]:
    """A customer of the shared tenant and a SUM meter of tokens by model."""
    return await tenant.customer(), await tokens_meter(tenant)


async def test_events_are_counted_once_per_model_and_bad_ones_named_alone(
    tenant: TenantApi, metered: tuple[str, str]
) -> None:
    customer, meter = metered
    good = [cloud_event(customer, 100), cloud_event(customer, 50, "llama"), cloud_event(customer, 25)]
    batch = [
        good[0],
        cloud_event(customer, "lots"),
        cloud_event(customer, 1, time="2020-01-01T00:00:00Z"),
        "not an event",
        cloud_event(customer, 1, subject="bad\u0000subject"),
        good[1],
        cloud_event(customer, 1, time="yesterday"),
        good[2],
    ]

    first = await tenant.ok("POST", "/v1/events", json=batch)
    again = await tenant.ok("POST", "/v1/events", json={"events": good})

    assert [(r["outcome"], r["field"]) for r in first["results"]] == [
        ("EVENT_OUTCOME_ACCEPTED", ""),
        ("EVENT_OUTCOME_REJECTED", "events[1].data.tokens"),
        ("EVENT_OUTCOME_REJECTED", "events[2].time"),
        ("EVENT_OUTCOME_REJECTED", "events[3]"),
        ("EVENT_OUTCOME_REJECTED", "events[4].subject"),
        ("EVENT_OUTCOME_ACCEPTED", ""),
        ("EVENT_OUTCOME_REJECTED", "events[6].time"),
        ("EVENT_OUTCOME_ACCEPTED", ""),
    ]
    assert (again["accepted_count"], again["duplicate_count"]) == (0, 3)
    answer = await usage_of(tenant, customer, meter, group_by="model")
    assert answer.status_code == 200, answer.text
    assert sorted((v["dimensions"]["model"], v["value"]) for v in answer.json()["values"]) == [
        ("gpt", "125"),
        ("llama", "50"),
    ]


async def test_raw_events_are_listed_and_exported_as_csv(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    sent = [cloud_event(customer, n) for n in (1, 2, 3)]
    await tenant.ok("POST", "/v1/events", json=sent)
    query = {"filter": f'customer_id = "{customer}"'}

    listed = await tenant.ok("GET", "/v1/usage-events", params={**query, "page_size": 2})
    exported = await tenant.ok("GET", "/v1/usage-events.csv", params=query)

    assert len(listed["events"]) == 2 and listed["next_page_token"]
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert sorted(row["id"] for row in rows) == sorted(e["id"] for e in sent)
    assert {json.loads(row["data"])["tokens"] for row in rows} == {1, 2, 3}


async def test_the_role_matrix_of_usage(tenant: TenantApi, metered: tuple[str, str]) -> None:
    customer, meter = metered
    keys = {role: await tenant.new_key(role) for role in ("viewer", "operator", "manager", "publishable")}
    event = [cloud_event(customer, 1)]
    meter_body = {
        "request_id": rid(),
        "meter": {"key": "calls", "display_name": "Calls", "event_type": "ai.call", "aggregation": "AGGREGATION_COUNT"},
    }

    statuses = {}
    for role, key in keys.items():
        ingest = await tenant.call("POST", "/v1/events", json=event, key=key)
        create = await tenant.call("POST", "/v1/meters", json=meter_body, key=key)
        read = await tenant.call("GET", f"/v1/meters/{meter}", key=key)
        statuses[role] = (ingest.status_code, create.status_code, read.status_code)

    assert statuses == {
        "viewer": (403, 403, 200),
        "operator": (200, 403, 200),
        "manager": (200, 200, 200),
        "publishable": (403, 403, 403),
    }


async def test_another_tenants_meters_customers_and_events_are_not_found(
    suite: RunningSuite, tenant: TenantApi, metered: tuple[str, str]
) -> None:
    customer, meter = metered
    foreign = await suite.new_tenant(with_catalog=False)
    shared_id = cloud_event(customer, 7)
    await tenant.ok("POST", "/v1/events", json=[shared_id])

    foreign_meter = await foreign.call("GET", f"/v1/meters/{meter}")
    foreign_usage = await usage_of(foreign, customer, meter)
    foreign_events = await foreign.ok("GET", "/v1/usage-events", params={"filter": f'customer_id = "{customer}"'})
    foreign_ingest = await foreign.ok("POST", "/v1/events", json=[shared_id])

    assert foreign_meter.status_code == 404
    assert foreign_usage.status_code == 404
    assert foreign_events["events"] == []
    # NOTE: the same (source, id) in another tenant is that tenant's own event, not a duplicate.
    assert foreign_ingest["accepted_count"] == 1


async def test_a_bad_body_or_window_names_what_is_wrong(tenant: TenantApi, metered: tuple[str, str]) -> None:
    customer, meter = metered
    not_json = await tenant.call(
        "POST", "/v1/events", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    not_a_batch = await tenant.call("POST", "/v1/events", json={"event": {}})
    empty = await tenant.call("POST", "/v1/events", json=[])
    bad_window = await tenant.call(
        "GET",
        f"/v1/customers/{customer}/usage",
        params={"meter_key": meter, "start_time": "2026-01-01T00:00:30Z", "end_time": "2026-01-02T00:00:00Z"},
    )
    unknown_customer = await usage_of(tenant, "nobody", meter)

    answers = (not_json, not_a_batch, empty, bad_window)
    fields = [answer.json()["error"]["details"][-1]["field_violations"][0]["field"] for answer in answers]
    assert [a.status_code for a in answers] == [400, 400, 400, 400]
    assert fields == ["body", "body", "events", "start_time"]
    assert unknown_customer.status_code == 404


async def test_usage_over_grpc_unary_and_stream(
    suite: RunningSuite, tenant: TenantApi, metered: tuple[str, str]
) -> None:
    customer, meter = metered
    operator = await tenant.new_key("operator")
    viewer = await tenant.new_key("viewer")

    def pb_event(tokens: int) -> me.CloudEvent:
        event = me.CloudEvent(
            specversion="1.0",
            id=rid(),
            source="grpc-backend",
            type="ai.tokens",
            subject=customer,
            data=json.dumps({"tokens": tokens, "model": "mistral"}),
        )
        event.time.FromDatetime(datetime.now(UTC))
        return event

    async def batches() -> AsyncIterator[gu.StreamEventsRequest]:
        for tokens in (10, 20):
            yield gu.StreamEventsRequest(events=[pb_event(tokens), pb_event(tokens)])

    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = usage_pb2_grpc.UsageServiceStub(channel)
        unary = await stub.IngestEvents(gu.IngestEventsRequest(events=[pb_event(5)]), metadata=bearer(operator))
        streamed = [answer async for answer in stub.StreamEvents(batches(), metadata=bearer(operator))]
        raw = channel.stream_stream(
            "/azotte.gateway.v1.UsageService/StreamEvents", request_serializer=None, response_deserializer=None
        )
        good = gu.StreamEventsRequest(events=[pb_event(1)]).SerializeToString()
        corrupt = raw(iter([good, b"\xff\xff\xff"]), metadata=bearer(operator), timeout=20)
        answered = []
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for answer in corrupt:
                answered.append(gu.StreamEventsResponse.FromString(answer).accepted_count)
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.IngestEvents(gu.IngestEventsRequest(events=[pb_event(1)]), metadata=bearer(viewer))
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        request = gu.GetUsageRequest(customer_id=customer, meter_key=meter, group_by=["model"])
        request.start_time.FromDatetime(now - timedelta(hours=1))
        request.end_time.FromDatetime(now + timedelta(minutes=2))
        usage = await stub.GetUsage(request, metadata=bearer(viewer))

    assert unary.accepted_count == 1
    assert [(a.batch_index, a.accepted_count) for a in streamed] == [(0, 2), (1, 2)]
    # A corrupt message ends the stream at once with INVALID_ARGUMENT, after the answers before it.
    assert answered == [1] and refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert {v.dimensions["model"]: v.value for v in usage.values}["mistral"] == "66"  # 5 + 10 + 10 + 20 + 20 + 1
