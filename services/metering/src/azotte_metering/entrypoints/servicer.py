"""MeteringService over gRPC: proto -> command -> use case -> proto, through `service_kit.Units`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from azotte.metering.v1 import metering_pb2 as pb
from azotte.metering.v1 import metering_pb2_grpc
from azotte_metering.adapters import proto
from azotte_metering.domain.ingestion import UsageEvent
from azotte_metering.domain.meters import Aggregation
from azotte_metering.ports import EventQuery, MeteringUnitOfWork, MeterQuery
from azotte_metering.service_layer import meters, usage
from azotte_metering.service_layer.ingest import EventResult, GroupCommit, InFlight
from azotte_platform.context import require_tenant
from azotte_platform.convert import enum_from_pb
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Filter, Ordering
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

METER_FILTER = {"event_type": EQUALITY, "aggregation": EQUALITY, "create_time": COMPARISONS}
EVENT_FILTER = {
    "customer_id": EQUALITY,
    "type": EQUALITY,
    "source": EQUALITY,
    "time": frozenset({"<", "<=", ">", ">="}),
}


def _time(value: str, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise InvalidArgument.field("filter", f"{field} must be an RFC 3339 time") from error
    if moment.tzinfo is None:
        raise InvalidArgument.field("filter", f"{field} must name its UTC offset (e.g. Z)")
    return moment


class MeteringServicer(metering_pb2_grpc.MeteringServiceServicer):
    """Translates MeteringService calls into metering use cases."""

    def __init__(self, units: Units[MeteringUnitOfWork], in_flight: InFlight, group: GroupCommit):
        self.units = units
        self._in_flight = in_flight
        self._group = group

    # ------------------------------------------------------------------ meters

    async def CreateMeter(self, request: pb.CreateMeterRequest, context: Any) -> pb.CreateMeterResponse:
        async def work(uow: MeteringUnitOfWork, tenant: str) -> pb.CreateMeterResponse:
            meter = await meters.create_meter(uow, proto.meter_from_pb(tenant, request.meter))
            return pb.CreateMeterResponse(meter=proto.meter_to_pb(meter))

        return await self.units.mutate(request, pb.CreateMeterResponse, work)

    async def GetMeter(self, request: pb.GetMeterRequest, context: Any) -> pb.GetMeterResponse:
        async def work(uow: MeteringUnitOfWork, tenant: str) -> pb.GetMeterResponse:
            meter = await meters.get_meter(uow, tenant, request.meter_key)
            return pb.GetMeterResponse(meter=proto.meter_to_pb(meter))

        return await self.units.read(work)

    async def ListMeters(self, request: pb.ListMetersRequest, context: Any) -> pb.ListMetersResponse:
        parsed = Filter.parse(request.filter, METER_FILTER)
        aggregation = parsed.value("aggregation")
        ordering = _one_key(Ordering.parse(request.order_by, ["key"], "key"))
        query = MeterQuery(
            event_type=parsed.value("event_type"),
            aggregation=_aggregation(aggregation) if aggregation is not None else None,
            created=tuple((c.op, _time(c.value, "create_time")) for c in parsed.conditions if c.field == "create_time"),
            descending=ordering.keys[0][1],
        )
        paging = PageRequest.of(request, "meters", ordering.text, *parsed.canonical())

        async def work(uow: MeteringUnitOfWork, tenant: str) -> pb.ListMetersResponse:
            page = await meters.list_meters(uow, tenant, query, paging)
            return pb.ListMetersResponse(
                meters=[proto.meter_to_pb(m) for m in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    async def UpdateMeter(self, request: pb.UpdateMeterRequest, context: Any) -> pb.UpdateMeterResponse:
        changes = proto.meter_changes(request.meter, list(request.update_mask.paths))

        async def work(uow: MeteringUnitOfWork, tenant: str) -> pb.UpdateMeterResponse:
            meter = await meters.update_meter(uow, tenant, request.meter.key, changes)
            return pb.UpdateMeterResponse(meter=proto.meter_to_pb(meter))

        return await self.units.mutate(request, pb.UpdateMeterResponse, work)

    # ------------------------------------------------------------------ ingestion

    async def IngestEvents(self, request: pb.IngestEventsRequest, context: Any) -> pb.IngestEventsResponse:
        events = proto.events_from_pb(request.events)
        async with self._in_flight.admit(len(events)):
            results = await self._ingest(events)
        return pb.IngestEventsResponse(**proto.results_to_pb(results))

    async def StreamEvents(
        self, request_iterator: AsyncIterator[pb.StreamEventsRequest], context: Any
    ) -> AsyncIterator[pb.StreamEventsResponse]:
        index = 0
        async for request in request_iterator:
            events = proto.events_from_pb(request.events)
            async with self._in_flight.wait(len(events)):
                results = await self._ingest(events)
            yield pb.StreamEventsResponse(batch_index=index, **proto.results_to_pb(results))
            index += 1

    async def _ingest(self, events: list[UsageEvent]) -> list[EventResult]:
        # NOTE: no request id: retries are made safe by the events' own (source, id).
        return await self._group.ingest(require_tenant(), events)

    # ------------------------------------------------------------------ usage

    async def GetUsage(self, request: pb.GetUsageRequest, context: Any) -> pb.GetUsageResponse:
        query = usage.UsageQuery(
            customer_id=request.customer_id,
            meter_key=request.meter_key,
            start=proto.required_time(request, "start_time"),
            end=proto.required_time(request, "end_time"),
            granularity=proto.granularity_from_pb(request.granularity),
            group_by=tuple(request.group_by),
        )

        async def work(uow: MeteringUnitOfWork, tenant: str) -> pb.GetUsageResponse:
            found = await usage.get_usage(uow, tenant, query)
            return pb.GetUsageResponse(
                meter=proto.meter_to_pb(found.meter), values=[proto.usage_value_to_pb(v) for v in found.values]
            )

        return await self.units.read(work)

    async def ListUsageEvents(self, request: pb.ListUsageEventsRequest, context: Any) -> pb.ListUsageEventsResponse:
        parsed = Filter.parse(request.filter, EVENT_FILTER)
        ordering = _one_key(Ordering.parse(request.order_by, ["time"], "time desc"))
        query = EventQuery(
            customer_id=parsed.value("customer_id"),
            type=parsed.value("type"),
            source=parsed.value("source"),
            times=tuple((c.op, _time(c.value, "time")) for c in parsed.conditions if c.field == "time"),
            oldest_first=not ordering.keys[0][1],
        )
        paging = PageRequest.of(request, "usage_events", ordering.text, *parsed.canonical())

        async def work(uow: MeteringUnitOfWork, tenant: str) -> pb.ListUsageEventsResponse:
            page = await usage.list_events(uow, tenant, query, paging)
            return pb.ListUsageEventsResponse(
                events=[proto.stored_event_to_pb(e) for e in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)


def _one_key(ordering: Ordering) -> Ordering:
    if len(ordering.keys) > 1:
        raise InvalidArgument.field("order_by", "takes one field")
    return ordering


def _aggregation(name: str) -> Aggregation:
    member = f"AGGREGATION_{name}"
    value = pb.Aggregation.Value(member) if member in pb.Aggregation.keys() else 0  # noqa: SIM118
    return enum_from_pb(Aggregation, "AGGREGATION", value, pb.Aggregation, "filter")
