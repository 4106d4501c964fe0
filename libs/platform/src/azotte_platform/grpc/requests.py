"""What every incoming gRPC request must be before a service sees it: decodable, in bounds, clean text.

A corrupt protobuf body, invalid UTF-8 in a string field, a message over `MAX_REQUEST_BYTES`, a
string over its limit, a NUL character or a lone surrogate are the caller's mistake: INVALID_ARGUMENT
with a plain message naming the field, never UNKNOWN/INTERNAL with a Python exception text nor
gRPC's own RESOURCE_EXHAUSTED text. The interceptor applies both checks to every service's own API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from azotte_platform.errors import InvalidArgument

MAX_REQUEST_BYTES = 4 * 1024 * 1024
"""The largest request a service decodes (a catalog document is the largest legitimate one)."""
RECEIVE_LIMIT_BYTES = 4 * MAX_REQUEST_BYTES
"""gRPC's own receive limit: past it, gRPC itself answers RESOURCE_EXHAUSTED before any of our code runs."""
SERVER_OPTIONS = (("grpc.max_receive_message_length", RECEIVE_LIMIT_BYTES),)
"""The options every service's gRPC server is made with."""
MAX_ID_CHARS = 256
"""Fields named `id` or `*_id` (ids, external ids)."""
MAX_TEXT_CHARS = 4096
"""Every other string field, except those in `LONG_FIELDS`."""
LONG_FIELDS = frozenset({"document"})
"""String fields bounded only by `MAX_REQUEST_BYTES` (a whole catalog document)."""

_STRING = FieldDescriptor.TYPE_STRING
_MESSAGE = FieldDescriptor.TYPE_MESSAGE


class Undecodable:
    """What the request deserializer hands on instead of raising, so the call ends INVALID_ARGUMENT."""

    __slots__ = ("message",)

    def __init__(self, message: str):
        self.message = message

    def error(self) -> InvalidArgument:
        return InvalidArgument(self.message)


def decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any]:
    """Wrap a request deserializer: a body it cannot decode becomes an `Undecodable`, not an exception."""

    def decode(data: bytes) -> Any:
        if len(data) > MAX_REQUEST_BYTES:
            return Undecodable(f"the request is {len(data)} bytes; the limit is {MAX_REQUEST_BYTES} bytes")
        if deserializer is None:
            return data
        try:
            return deserializer(data)
        except DecodeError:
            return Undecodable("the request is not a valid protobuf message of its type (corrupt or not UTF-8 text)")

    return decode


def field_limit(name: str) -> int | None:
    """The most characters a string field called `name` may hold (None: bounded by the message size)."""
    if name in LONG_FIELDS:
        return None
    if name == "id" or name.endswith("_id"):
        return MAX_ID_CHARS
    return MAX_TEXT_CHARS


def text_problem(value: str, limit: int | None) -> str | None:
    """What is wrong with one string value, or None: NUL, a lone surrogate, or past `limit` characters."""
    if limit is not None and len(value) > limit:
        return f"must be at most {limit} characters"
    if "\x00" in value:
        return "must not contain a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (no lone surrogates)"
    return None


_TEXT, _NESTED, _MAP, _OTHER = range(4)
_PLANS: dict[FieldDescriptor, tuple[int, int | None, bool]] = {}


def _plan(field: FieldDescriptor) -> tuple[int, int | None, bool]:
    """How to check one field (kind, character limit, repeated), worked out once per field."""
    plan = _PLANS.get(field)
    if plan is None:
        if field.type == _STRING:
            kind = _TEXT
        elif field.type == _MESSAGE:
            entry = field.message_type
            kind = _MAP if entry is not None and entry.GetOptions().map_entry else _NESTED
        else:
            kind = _OTHER
        plan = _PLANS[field] = (kind, field_limit(field.name), field.is_repeated)
    return plan


def check_strings(message: Message, prefix: str = "") -> None:
    """INVALID_ARGUMENT naming the first string field (at any depth) that is too long or not clean text.

    NOTE: walks only the fields that are set (`ListFields`), with each field's checks worked out once:
    an access check's request costs about two microseconds.
    """
    for field, value in message.ListFields():
        kind, limit, repeated = _PLANS.get(field) or _plan(field)
        if kind == _TEXT:
            if not repeated:
                problem = text_problem(value, limit)
                if problem is not None:
                    raise InvalidArgument.field(prefix + field.name, problem)
                continue
            for index, item in enumerate(value):
                problem = text_problem(item, limit)
                if problem is not None:
                    raise InvalidArgument.field(f"{prefix}{field.name}[{index}]", problem)
        elif kind == _NESTED:
            if repeated:
                for index, item in enumerate(value):
                    check_strings(item, f"{prefix}{field.name}[{index}].")
            else:
                check_strings(value, f"{prefix}{field.name}.")
        elif kind == _MAP:
            _check_map(prefix + field.name, field, value)


def _check_map(path: str, field: FieldDescriptor, value: Any) -> None:
    entry = field.message_type
    assert entry is not None  # a map field's entry type
    key_is_text = entry.fields_by_name["key"].type == _STRING
    value_field = entry.fields_by_name["value"]
    for key, item in value.items():
        if key_is_text:
            problem = text_problem(key, MAX_ID_CHARS)
            if problem is not None:
                raise InvalidArgument.field(f"{path} key", problem)
        if value_field.type == _STRING:
            problem = text_problem(item, MAX_TEXT_CHARS)
            if problem is not None:
                raise InvalidArgument.field(f"{path}[{key!r}]", problem)
        elif value_field.type == _MESSAGE:
            check_strings(item, f"{path}[{key!r}].")
