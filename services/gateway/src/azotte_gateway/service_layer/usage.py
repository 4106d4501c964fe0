"""Usage: events reported as CloudEvents, meters, a customer's usage and the raw events (metering does the work).

NOTE: meters, events, results and usage values are answered as metering sends them (the re-export policy
in the README): the tenant declares its meters and sends its events.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc

from azotte.gateway.v1 import usage_pb2 as gu
from azotte.metering.v1 import metering_pb2 as me
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.grpc.requests import field_limit, text_problem
from azotte_platform.grpc.status import from_rpc_error
from azotte_platform.listing import forwarded

MAX_BATCH_EVENTS = 10_000
EXPORT_PAGE = 500
CSV_COLUMNS = ("time", "source", "id", "type", "subject", "data", "receive_time")

Item = me.CloudEvent | me.EventResult
"""An event of a batch: to forward, or already rejected by the gateway (its field and reason)."""


def _counted(results: Sequence[me.EventResult]) -> dict[str, int]:
    outcomes = [r.outcome for r in results]
    return {
        "accepted_count": outcomes.count(me.EVENT_OUTCOME_ACCEPTED),
        "duplicate_count": outcomes.count(me.EVENT_OUTCOME_DUPLICATE),
        "rejected_count": outcomes.count(me.EVENT_OUTCOME_REJECTED),
    }


@dataclass(frozen=True)
class Usage:
    """UsageService."""

    peers: Peers
    customers: KnownCustomers

    # ------------------------------------------------------------------ ingestion

    async def ingest_events(self, caller: Caller, request: gu.IngestEventsRequest) -> gu.IngestEventsResponse:
        authorize(caller.principal, Permission.INGEST_USAGE)
        return await self._ingest(list(request.events))

    async def ingest_json(self, caller: Caller, body: bytes) -> gu.IngestEventsResponse:
        """A REST batch (a JSON array of CloudEvents, or `{"events": [...]}`): the events the gateway can read are
        forwarded, the others answered as rejected naming their field, all in the batch's order."""
        authorize(caller.principal, Permission.INGEST_USAGE)
        return await self._ingest([event_from_json(index, item) for index, item in enumerate(events_of(body))])

    async def _ingest(self, items: list[Item]) -> gu.IngestEventsResponse:
        if not items:
            raise InvalidArgument.field("events", "must hold at least one event")
        if len(items) > MAX_BATCH_EVENTS:
            raise InvalidArgument.field("events", f"must hold at most {MAX_BATCH_EVENTS} events")
        forward = [(index, item) for index, item in enumerate(items) if isinstance(item, me.CloudEvent)]
        results: list[me.EventResult] = [item for item in items if isinstance(item, me.EventResult)]
        if forward:
            answer = await self.peers.metering.IngestEvents(me.IngestEventsRequest(events=[e for _, e in forward]))
            results.extend(_renumbered(result, forward[result.index][0]) for result in answer.results)
        results.sort(key=lambda r: r.index)
        return gu.IngestEventsResponse(results=results, **_counted(results))

    async def stream_events(
        self, caller: Caller, requests: AsyncIterator[gu.StreamEventsRequest]
    ) -> AsyncIterator[gu.StreamEventsResponse]:
        """The answers of metering's stream to each batch, once it is durable (authorized before the first)."""
        authorize(caller.principal, Permission.INGEST_USAGE)
        return self._streamed(caller, requests)

    async def _streamed(
        self, caller: Caller, requests: AsyncIterator[gu.StreamEventsRequest]
    ) -> AsyncIterator[gu.StreamEventsResponse]:
        refused: list[AzotteError] = []

        async def batches() -> AsyncIterator[me.StreamEventsRequest]:
            # NOTE: gRPC reads this in a task of its own, where an exception is lost and metering's stream would
            # wait for more forever: a refused message (e.g. corrupt) ends the stream, then is raised below.
            try:
                async for request in requests:
                    yield me.StreamEventsRequest(events=request.events)
            except AzotteError as error:
                refused.append(error)

        # NOTE: the answers are read after the servicer's call returned: the stream runs in the caller's tenant.
        with caller.scope():
            try:
                async for answer in self.peers.metering.StreamEvents(batches()):
                    yield gu.StreamEventsResponse(
                        batch_index=answer.batch_index,
                        results=answer.results,
                        accepted_count=answer.accepted_count,
                        duplicate_count=answer.duplicate_count,
                        rejected_count=answer.rejected_count,
                    )
            except grpc.aio.AioRpcError as error:
                raise from_rpc_error(error) from None
        if refused:
            raise refused[0]

    # ------------------------------------------------------------------ meters

    async def create_meter(self, caller: Caller, request: gu.CreateMeterRequest) -> gu.CreateMeterResponse:
        authorize(caller.principal, Permission.MANAGE_METERS)
        require_mutation(request, "meter")
        answer = await self.peers.metering.CreateMeter(
            me.CreateMeterRequest(request_id=request.request_id, meter=request.meter)
        )
        return gu.CreateMeterResponse(meter=answer.meter)

    async def get_meter(self, caller: Caller, request: gu.GetMeterRequest) -> gu.GetMeterResponse:
        authorize(caller.principal, Permission.READ_USAGE)
        require(request, "meter_key")
        answer = await self.peers.metering.GetMeter(me.GetMeterRequest(meter_key=request.meter_key))
        return gu.GetMeterResponse(meter=answer.meter)

    async def list_meters(self, caller: Caller, request: gu.ListMetersRequest) -> gu.ListMetersResponse:
        authorize(caller.principal, Permission.READ_USAGE)
        answer = await self.peers.metering.ListMeters(me.ListMetersRequest(**forwarded(request)))
        return gu.ListMetersResponse(meters=answer.meters, next_page_token=answer.next_page_token)

    async def update_meter(self, caller: Caller, request: gu.UpdateMeterRequest) -> gu.UpdateMeterResponse:
        authorize(caller.principal, Permission.MANAGE_METERS)
        require_mutation(request, "meter", "update_mask")
        answer = await self.peers.metering.UpdateMeter(
            me.UpdateMeterRequest(request_id=request.request_id, meter=request.meter, update_mask=request.update_mask)
        )
        return gu.UpdateMeterResponse(meter=answer.meter)

    # ------------------------------------------------------------------ usage

    async def get_usage(self, caller: Caller, request: gu.GetUsageRequest) -> gu.GetUsageResponse:
        """A customer's usage; another tenant's (or an unknown) customer is NOT_FOUND, like an unknown meter."""
        authorize(caller.principal, Permission.READ_USAGE)
        require(request, "customer_id", "meter_key")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.metering.GetUsage(
            me.GetUsageRequest(
                customer_id=request.customer_id,
                meter_key=request.meter_key,
                start_time=request.start_time if request.HasField("start_time") else None,
                end_time=request.end_time if request.HasField("end_time") else None,
                group_by=request.group_by,
                granularity=request.granularity,
            )
        )
        return gu.GetUsageResponse(meter=answer.meter, values=answer.values)

    async def list_usage_events(self, caller: Caller, request: gu.ListUsageEventsRequest) -> gu.ListUsageEventsResponse:
        authorize(caller.principal, Permission.READ_USAGE)
        answer = await self.peers.metering.ListUsageEvents(me.ListUsageEventsRequest(**forwarded(request)))
        return gu.ListUsageEventsResponse(events=answer.events, next_page_token=answer.next_page_token)

    async def export_usage_events(self, caller: Caller, filter: str) -> AsyncIterator[str]:
        """The raw events matching `filter` as CSV text, page by page (authorized and the filter checked before
        the first line: the first page is read before this returns)."""
        authorize(caller.principal, Permission.READ_USAGE)
        first = await self.peers.metering.ListUsageEvents(
            me.ListUsageEventsRequest(page_size=EXPORT_PAGE, filter=filter)
        )
        return self._csv(caller, first, filter)

    async def _csv(self, caller: Caller, page: me.ListUsageEventsResponse, filter: str) -> AsyncIterator[str]:
        yield _csv_line(CSV_COLUMNS)
        while True:
            yield "".join(_csv_line(_row(stored)) for stored in page.events)
            if not page.next_page_token:
                return
            # NOTE: the lines are sent after the endpoint returned: each page is read in the caller's tenant again.
            with caller.scope():
                page = await self.peers.metering.ListUsageEvents(
                    me.ListUsageEventsRequest(page_size=EXPORT_PAGE, filter=filter, page_token=page.next_page_token)
                )


def events_of(body: bytes) -> list[Any]:
    """The events of a REST batch body, or INVALID_ARGUMENT naming `body`."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        raise InvalidArgument.field("body", "is not valid JSON") from None
    if isinstance(payload, dict) and set(payload) == {"events"}:
        payload = payload["events"]
    if not isinstance(payload, list):
        raise InvalidArgument.field("body", 'must be a JSON array of CloudEvents or {"events": [...]}')
    return payload


def event_from_json(index: int, item: Any) -> Item:
    """One CloudEvent of a REST batch (structured JSON form), or its rejection naming `events[index].<field>`."""

    def rejected(field: str, reason: str) -> me.EventResult:
        at = f"events[{index}]" + (f".{field}" if field else "")
        return me.EventResult(index=index, outcome=me.EVENT_OUTCOME_REJECTED, field=at, reason=reason)

    if not isinstance(item, dict):
        return rejected("", "must be a JSON object (a CloudEvent)")
    event = me.CloudEvent()
    event_id = item.get("id")
    if isinstance(event_id, str) and text_problem(event_id, field_limit("id")) is None:
        event.id = event_id
    for field in ("specversion", "id", "source", "type", "subject"):
        value = item.get(field, "1.0" if field == "specversion" else "")
        if not isinstance(value, str):
            return _with_id(rejected(field, "must be a string"), event.id)
        problem = text_problem(value, field_limit(field))
        if problem is not None:
            return _with_id(rejected(field, problem), event.id)
        setattr(event, field, value)
    time = item.get("time")
    if time is not None:
        moment = _rfc3339(time)
        if moment is None:
            return _with_id(rejected("time", "must be an RFC 3339 time with its offset"), event.id)
        event.time.FromDatetime(moment)
    data = item.get("data", {})
    if not isinstance(data, dict):
        return _with_id(rejected("data", "must be a JSON object"), event.id)
    event.data = json.dumps(data, separators=(",", ":"))
    return event


def _with_id(result: me.EventResult, event_id: str) -> me.EventResult:
    result.id = event_id
    return result


def _rfc3339(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or not 1 <= moment.year <= 9999:
        return None
    return moment


def _renumbered(result: me.EventResult, index: int) -> me.EventResult:
    """A result of the forwarded sub-batch at its index in the caller's batch (its field path too)."""
    field = result.field
    if field.startswith("events["):
        field = f"events[{index}]" + field[field.index("]") + 1 :]
    return me.EventResult(index=index, id=result.id, outcome=result.outcome, field=field, reason=result.reason)


def _row(stored: me.UsageEvent) -> tuple[str, ...]:
    event = stored.event
    return (
        event.time.ToJsonString(),
        event.source,
        event.id,
        event.type,
        event.subject,
        event.data,
        stored.receive_time.ToJsonString(),
    )


def _csv_line(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()
