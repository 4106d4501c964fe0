"""Every proto <-> domain translation of metering: request values, responses, and event payloads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from azotte.metering.v1 import events_pb2
from azotte.metering.v1 import metering_pb2 as pb
from azotte_metering.domain.events import UsageRecorded
from azotte_metering.domain.ingestion import UsageEvent
from azotte_metering.domain.meters import Aggregation, Meter, QuotaFeature
from azotte_metering.domain.usage import Granularity, UsageValue, decimal_text
from azotte_metering.ports import StoredEvent
from azotte_metering.service_layer.ingest import EventResult, Outcome
from azotte_platform.convert import enum_from_pb, enum_to_pb, optional_from_timestamp, set_timestamp, timestamp
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import Event

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# ---------------------------------------------------------------------------------------- meters


def aggregation_to_pb(aggregation: Aggregation) -> Any:
    return enum_to_pb("AGGREGATION", aggregation, pb.Aggregation)


def aggregation_from_pb(value: int, field: str) -> Aggregation:
    return enum_from_pb(Aggregation, "AGGREGATION", value, pb.Aggregation, field)


def meter_to_pb(meter: Meter) -> pb.Meter:
    return pb.Meter(
        key=meter.key,
        display_name=meter.display_name,
        event_type=meter.event_type,
        value_path=meter.value_path,
        aggregation=aggregation_to_pb(meter.aggregation),
        dimensions=list(meter.dimensions),
        create_time=timestamp(meter.created_at),
        update_time=timestamp(meter.updated_at),
        quota_features=[
            pb.QuotaFeature(feature_key=quota.feature_key, dimensions=dict(quota.dimensions))
            for quota in meter.quota_features
        ],
    )


def quota_features_from_pb(messages: Sequence[pb.QuotaFeature]) -> tuple[QuotaFeature, ...]:
    return tuple(QuotaFeature.of(quota.feature_key, quota.dimensions) for quota in messages)


def meter_from_pb(tenant_id: str, message: pb.Meter) -> Meter:
    """A new meter from a request (its times are set by the use case)."""
    return Meter(
        tenant_id=tenant_id,
        key=message.key,
        display_name=message.display_name,
        event_type=message.event_type,
        value_path=message.value_path,
        aggregation=aggregation_from_pb(message.aggregation, "meter.aggregation"),
        dimensions=tuple(message.dimensions),
        created_at=_EPOCH,
        updated_at=_EPOCH,
        quota_features=quota_features_from_pb(message.quota_features),
    )


def meter_changes(message: pb.Meter, paths: Sequence[str]) -> dict[str, object]:
    """The fields of `paths` (an update mask) with their new values."""
    changes: dict[str, object] = {}
    for path in paths:
        if path == "aggregation":
            changes[path] = aggregation_from_pb(message.aggregation, "meter.aggregation")
        elif path == "dimensions":
            changes[path] = tuple(message.dimensions)
        elif path == "quota_features":
            changes[path] = quota_features_from_pb(message.quota_features)
        elif path in ("display_name", "event_type", "value_path"):
            changes[path] = getattr(message, path)
        else:
            raise InvalidArgument.field("update_mask", f"cannot update {path!r}")
    return changes


# ---------------------------------------------------------------------------------------- ingestion


def events_from_pb(messages: Sequence[pb.CloudEvent]) -> list[UsageEvent]:
    """The events of a batch; a time that is not a valid timestamp is left for `judge` to reject."""
    return [
        UsageEvent(
            id=m.id,
            source=m.source,
            type=m.type,
            subject=m.subject,
            time=_event_time(m),
            data=m.data,
            specversion=m.specversion or "1.0",
        )
        for m in messages
    ]


def _event_time(message: pb.CloudEvent) -> datetime | None:
    if not message.HasField("time"):
        return None
    try:
        return optional_from_timestamp(message, "time")
    except InvalidArgument:
        # NOTE: an out-of-range time is judged like one too far in the past: rejected alone.
        return datetime.min.replace(tzinfo=UTC)


_OUTCOMES = {
    Outcome.ACCEPTED: pb.EVENT_OUTCOME_ACCEPTED,
    Outcome.DUPLICATE: pb.EVENT_OUTCOME_DUPLICATE,
    Outcome.REJECTED: pb.EVENT_OUTCOME_REJECTED,
}


def results_to_pb(results: Sequence[EventResult]) -> dict[str, Any]:
    """The `results` and counts fields of an ingest response."""
    counts = dict.fromkeys(Outcome, 0)
    for result in results:
        counts[result.outcome] += 1
    return {
        "results": [
            pb.EventResult(index=r.index, id=r.id, outcome=_OUTCOMES[r.outcome], field=r.field, reason=r.reason)
            for r in results
        ],
        "accepted_count": counts[Outcome.ACCEPTED],
        "duplicate_count": counts[Outcome.DUPLICATE],
        "rejected_count": counts[Outcome.REJECTED],
    }


# ---------------------------------------------------------------------------------------- usage

GRANULARITIES: dict[int, Granularity | None] = {
    pb.GRANULARITY_UNSPECIFIED: None,
    pb.GRANULARITY_MINUTE: Granularity.MINUTE,
    pb.GRANULARITY_HOUR: Granularity.HOUR,
    pb.GRANULARITY_DAY: Granularity.DAY,
}


def granularity_from_pb(value: int) -> Granularity | None:
    if value not in GRANULARITIES:
        raise InvalidArgument.field("granularity", "must be MINUTE, HOUR, DAY or unspecified (the whole window)")
    return GRANULARITIES[value]


def required_time(message: Message, field: str) -> datetime:
    moment = optional_from_timestamp(message, field)
    if moment is None:
        raise InvalidArgument.field(field, "is required")
    return moment


def usage_value_to_pb(value: UsageValue) -> pb.UsageValue:
    return pb.UsageValue(
        start_time=timestamp(value.start),
        end_time=timestamp(value.end),
        dimensions=dict(value.dimensions),
        value=decimal_text(value.value),
        event_count=value.event_count,
    )


def stored_event_to_pb(stored: StoredEvent) -> pb.UsageEvent:
    event = stored.event
    return pb.UsageEvent(
        event=pb.CloudEvent(
            specversion="1.0",
            id=event.id,
            source=event.source,
            type=event.type,
            subject=event.subject,
            time=timestamp(stored.time),
            data=event.data,
        ),
        receive_time=timestamp(stored.received_at),
    )


# ---------------------------------------------------------------------------------------- events


def to_event(tenant_id: str, fact: object) -> Event:
    """The event published for a metering domain event."""
    if isinstance(fact, UsageRecorded):
        # NOTE: one per customer a transaction touched, so by the thousand: the timestamps are set in place and the
        # map entry by entry (a map given to the constructor is filled through the slow `MutableMapping.update`).
        payload = events_pb2.UsageRecorded(tenant_id=tenant_id, customer_id=fact.customer_id)
        for usage in fact.usage:
            group = payload.usage.add(
                meter_key=usage.meter_key,
                aggregation=aggregation_to_pb(usage.aggregation),
                event_count=usage.event_count,
                quantity=decimal_text(usage.quantity),
            )
            set_timestamp(group.first_event_time, usage.first_event_time)
            set_timestamp(group.last_event_time, usage.last_event_time)
            dimensions = group.dimensions
            for name, value in usage.dimensions.items():
                dimensions[name] = value
        return Event(tenant_id, "usage.recorded", payload, about=fact.customer_id)
    raise TypeError(f"no event for {type(fact).__name__}")
