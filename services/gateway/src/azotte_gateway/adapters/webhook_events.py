"""Events from the bus as webhook bodies: the same CloudEvent, in JSON (structured mode), data as protobuf JSON."""

from __future__ import annotations

import base64
import importlib
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.message import DecodeError

from azotte_gateway.domain.webhooks import cloud_event
from azotte_platform.events.envelope import ReceivedEvent


def register_payloads(producers: Iterable[str]) -> None:
    """Load each producer's event payload types (`azotte.<producer>.v1.events_pb2`), so bodies can decode them."""
    for producer in producers:
        try:
            importlib.import_module(f"azotte.{producer}.v1.events_pb2")
        except ModuleNotFoundError:
            continue  # NOTE: a producer that declares no payloads yet; its events go out as `data_base64`.


def _data(schema: str, data: bytes) -> dict[str, Any]:
    """`{"data": <payload JSON>}`, or `{"data_base64": ...}` when the payload type is unknown here."""
    try:
        message_class = message_factory.GetMessageClass(descriptor_pool.Default().FindMessageTypeByName(schema))
        payload = message_class.FromString(data)
    except (KeyError, DecodeError):
        return {"data_base64": base64.b64encode(data).decode()}
    return {"data": json_format.MessageToDict(payload, preserving_proto_field_name=True)}


def webhook_body(event: ReceivedEvent) -> str:
    """The body of a webhook for `event`: its CloudEvents attributes and its payload."""
    return cloud_event(
        event_id=event.id,
        event_type=event.type,
        source=event.source,
        tenant_id=event.tenant_id,
        time=event.time,
        subject=event.about,
        data={"dataschema": event.data_schema, **_data(event.data_schema, event.data)},
    )
