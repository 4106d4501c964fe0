"""Events as CloudEvents in NATS binary mode: attributes in `ce-*` headers, protobuf bytes as data."""

from __future__ import annotations

import builtins
import functools
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TypeVar

from google.protobuf.message import Message
from opentelemetry.context import Context
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from azotte_platform.errors import InvalidTenantId

M = TypeVar("M", bound=Message)

TENANT_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
CONTENT_TYPE = "application/protobuf"
DLQ_STREAM = "AZOTTE_DLQ"
SUBJECT_HEADER = "ce-subject"
# NOTE: W3C trace context as the CloudEvents distributed-tracing extension, in binary mode `ce-traceparent`
# and `ce-tracestate`: what the propagator calls `traceparent` travels as `ce-traceparent`.
TRACE_HEADER_PREFIX = "ce-"
_TRACE_CONTEXT = TraceContextTextMapPropagator()
_TRACE_HEADERS = frozenset(TRACE_HEADER_PREFIX + name for name in _TRACE_CONTEXT.fields)


def validate_tenant_id(tenant_id: str) -> str:
    """Tenant ids become NATS subject tokens, so they are lowercase slugs."""
    if not TENANT_ID_PATTERN.match(tenant_id):
        raise InvalidTenantId.field("tenant_id", "must be 1-63 lowercase letters, digits, '-' or '_'")
    return tenant_id


def stream_name(service: str) -> str:
    """The JetStream stream that holds one producing service's events."""
    return f"AZOTTE_{service.upper()}"


def subject_for(service: str, tenant_id: str, event_type: str) -> str:
    """`azotte.<tenant>.<service>.<entity>.<event>` for an event type `<entity>.<event>`."""
    return f"azotte.{tenant_id}.{service}.{event_type}"


def service_subjects(service: str) -> str:
    """Every subject a service publishes to, for any tenant."""
    return f"azotte.*.{service}.>"


class _EventIds:
    """Random (version 4) UUIDs as text, cut from `os.urandom` read 4 KiB at a time.

    NOTE: services record events by the thousand (usage facts, renewal sweeps); `uuid.uuid4()` costs a system call
    and a `UUID` object each. A forked process starts with a fresh buffer, never its parent's ids.
    """

    _CHUNK = 4096

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0
        os.register_at_fork(after_in_child=self._forget)

    def _forget(self) -> None:
        self._buffer, self._offset = b"", 0

    def __call__(self) -> str:
        if self._offset + 16 > len(self._buffer):
            self._buffer, self._offset = os.urandom(self._CHUNK), 0
        raw = bytearray(self._buffer[self._offset : self._offset + 16])
        self._offset += 16
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        text = raw.hex()
        return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


new_event_id = _EventIds()
"""A new event id: a random UUID's text."""


@dataclass(frozen=True)
class Event:
    """A fact a service records in its outbox, e.g. type `subscription.renewed`.

    `about` is the CloudEvents `subject`: the entity the event concerns (e.g. the customer), sent as a
    header so that followers can route or invalidate without decoding the payload.
    """

    tenant_id: str
    type: str
    payload: Message
    id: str = field(default_factory=new_event_id)
    about: str = ""


@dataclass(frozen=True)
class ReceivedEvent:
    """An event as a consumer sees it."""

    id: str
    type: str
    source: str
    tenant_id: str
    time: datetime
    subject: str
    data_schema: str
    data: bytes
    headers: dict[str, str]

    @property
    def about(self) -> str:
        """The entity the event concerns (CloudEvents `subject`), or "" when the producer named none."""
        return self.headers.get(SUBJECT_HEADER, "")

    def payload(self, message_type: builtins.type[M]) -> M:
        """Decode the data as `message_type`."""
        message = message_type()
        message.ParseFromString(self.data)
        return message

    @classmethod
    def from_headers(cls, subject: str, headers: dict[str, str], data: bytes) -> ReceivedEvent:
        """Read a CloudEvent in binary mode."""
        return cls(
            id=headers["ce-id"],
            type=headers["ce-type"],
            source=headers["ce-source"],
            tenant_id=headers["ce-tenantid"],
            time=datetime.fromisoformat(headers["ce-time"]),
            subject=subject,
            data_schema=headers.get("ce-dataschema", ""),
            data=data,
            headers=headers,
        )


def binary_headers(
    *, event_id: str, event_type: str, source: str, tenant_id: str, time: datetime, data_schema: str
) -> dict[str, str]:
    """The CloudEvents binary-mode headers of one event, plus the JetStream de-duplication id."""
    return {
        "ce-specversion": "1.0",
        "ce-id": event_id,
        "ce-type": event_type,
        "ce-source": source,
        "ce-time": _timestamp(time, time.tzinfo),
        "ce-tenantid": tenant_id,
        "ce-dataschema": data_schema,
        "content-type": CONTENT_TYPE,
        "Nats-Msg-Id": event_id,
    }


@functools.lru_cache(maxsize=1024)
def _timestamp(time: datetime, _zone: tzinfo | None) -> str:
    """`time` in ISO 8601, remembered per instant and zone: the events of a transaction share their time, and
    formatting it costs more than sending them."""
    return time.isoformat()


def trace_headers(context: Context | None = None) -> dict[str, str]:
    """The span context current (or in `context`) as CloudEvents `ce-traceparent` (and `ce-tracestate`) headers;
    {} outside a span."""
    carrier: dict[str, str] = {}
    _TRACE_CONTEXT.inject(carrier, context)
    return {TRACE_HEADER_PREFIX + key: value for key, value in carrier.items()}


def trace_recorded(headers: dict[str, str]) -> bool:
    """Whether the trace an event's headers carry is recorded (the `sampled` flag of its `ce-traceparent`)."""
    traceparent = headers.get(TRACE_HEADER_PREFIX + "traceparent", "")
    # NOTE: `00-<trace id>-<span id>-<flags>`; `sampled` is the lowest bit of the flags' last hex digit.
    return len(traceparent) == 55 and traceparent[-1] in "13579bdfBDF"


def trace_context(headers: dict[str, str]) -> Context:
    """The producer's span context an event's headers carry (an empty context when they carry none)."""
    carrier = {key.removeprefix(TRACE_HEADER_PREFIX): value for key, value in headers.items() if key in _TRACE_HEADERS}
    return _TRACE_CONTEXT.extract(carrier)
