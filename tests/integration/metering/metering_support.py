"""Builders of metering requests shared by the integration tests."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import grpc

from azotte.metering.v1 import metering_pb2 as pb
from azotte_platform.convert import timestamp
from azotte_platform.errors import AzotteError
from azotte_platform.grpc.status import from_rpc_error


def rid() -> str:
    return uuid.uuid4().hex


def cloud_event(
    event_id: str, customer: str, at: datetime, data: dict[str, Any], *, type_: str = "ai.tokens", source: str = "api"
) -> pb.CloudEvent:
    return pb.CloudEvent(
        specversion="1.0",
        id=event_id,
        source=source,
        type=type_,
        subject=customer,
        time=timestamp(at),
        data=json.dumps(data),
    )


async def create_meter(
    service: Any, key: str, aggregation: pb.Aggregation.ValueType, value_path: str = "tokens", **fields: Any
) -> pb.Meter:
    fields.setdefault("event_type", "ai.tokens")
    fields.setdefault("display_name", key)
    meter = pb.Meter(key=key, aggregation=aggregation, value_path=value_path, **fields)
    response = await service.stub.CreateMeter(
        pb.CreateMeterRequest(request_id=rid(), meter=meter), metadata=service.metadata
    )
    created: pb.Meter = response.meter
    return created


async def ingest(service: Any, *events: pb.CloudEvent) -> pb.IngestEventsResponse:
    response: pb.IngestEventsResponse = await service.stub.IngestEvents(
        pb.IngestEventsRequest(events=list(events)), metadata=service.metadata
    )
    return response


async def usage(
    service: Any, customer: str, meter: str, start: datetime, end: datetime, **fields: Any
) -> pb.GetUsageResponse:
    response: pb.GetUsageResponse = await service.stub.GetUsage(
        pb.GetUsageRequest(
            customer_id=customer, meter_key=meter, start_time=timestamp(start), end_time=timestamp(end), **fields
        ),
        metadata=service.metadata,
    )
    return response


async def failure(call: Any) -> AzotteError:
    """The typed error a call ended with (it must fail)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return from_rpc_error(error)
    raise AssertionError("the call succeeded")
