"""A bounded gRPC fuzz of every public method of the gateway, on the real suite, with an admin key.

Requests are generated from each method's request descriptor: any value a field's type holds (int64 and
uint64 bounds, unknown enum numbers, NaN, Timestamps and Durations past their ranges, strings with NUL, lone
code points and 100,000 characters), plus corrupt bodies (random bytes, truncated and bit-flipped requests, a
string field holding invalid UTF-8). Whatever the input, the gateway answers a status of its own (OK,
INVALID_ARGUMENT, NOT_FOUND, ...), never INTERNAL or UNKNOWN (an unhandled exception).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azotte_gateway.entrypoints.servicer import PUBLIC_SERVICES
from tests.e2e.conftest import RunningSuite

EXAMPLES_PER_METHOD = 30
"""Generated requests per method (fixed: derandomized, so every run sends the same requests)."""
CORRUPT_PER_METHOD = 10
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
SERVICES = [service.descriptor for service in PUBLIC_SERVICES]
METHODS: list[MethodDescriptor] = [method for service in SERVICES for method in service.methods]

INT64 = st.one_of(
    st.sampled_from([0, 1, -1, 2**63 - 1, -(2**63), 2**31, -(2**31) - 1]), st.integers(-(2**63), 2**63 - 1)
)
UINT64 = st.one_of(st.sampled_from([0, 1, 2**64 - 1, 2**63]), st.integers(0, 2**64 - 1))
INT32 = st.one_of(st.sampled_from([0, -1, 2**31 - 1, -(2**31)]), st.integers(-(2**31), 2**31 - 1))
UINT32 = st.integers(0, 2**32 - 1)
TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "cus_\x00abc", "basic_monthly", "us", "hd_streaming", "tok_success", "../../etc"]),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=8).map(lambda s: s * 12_500),
    st.integers(0, 200_000).map(lambda n: "x" * n),
)
SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FieldDescriptor.TYPE_INT64: INT64,
    FieldDescriptor.TYPE_SINT64: INT64,
    FieldDescriptor.TYPE_SFIXED64: INT64,
    FieldDescriptor.TYPE_UINT64: UINT64,
    FieldDescriptor.TYPE_FIXED64: UINT64,
    FieldDescriptor.TYPE_INT32: INT32,
    FieldDescriptor.TYPE_SINT32: INT32,
    FieldDescriptor.TYPE_SFIXED32: INT32,
    FieldDescriptor.TYPE_UINT32: UINT32,
    FieldDescriptor.TYPE_FIXED32: UINT32,
    FieldDescriptor.TYPE_DOUBLE: st.floats(allow_nan=True, allow_infinity=True),
    FieldDescriptor.TYPE_FLOAT: st.floats(width=32, allow_nan=True, allow_infinity=True),
    FieldDescriptor.TYPE_BOOL: st.booleans(),
    FieldDescriptor.TYPE_STRING: TEXT,
    FieldDescriptor.TYPE_BYTES: st.binary(max_size=64),
}


def fields_of(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of a message's fields with any values of their types (nested messages to depth 3)."""
    strategies: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and depth >= 3:
            continue
        value = single_value(field, depth)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key = single_value(field.message_type.fields_by_name["key"], depth + 1)
            entry = single_value(field.message_type.fields_by_name["value"], depth + 1)
            strategies[field.name] = st.dictionaries(key, entry, max_size=3)
        elif field.is_repeated:
            strategies[field.name] = st.lists(value, max_size=4)
        else:
            strategies[field.name] = value
    return st.fixed_dictionaries({}, optional=strategies)


def single_value(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    if field.message_type is not None:
        return fields_of(field.message_type, depth + 1)
    if field.enum_type is not None:
        known = [value.number for value in field.enum_type.values]
        return (
            st.one_of(st.sampled_from(known), INT32) if field.enum_type.is_closed is False else st.sampled_from(known)
        )
    return SCALARS[field.type]


def build(message: Message, values: dict[str, Any]) -> Message:
    """Set `values` on `message` (a value protobuf refuses, e.g. a lone surrogate, is left out)."""
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        try:
            if field.message_type is not None and field.message_type.GetOptions().map_entry:
                target = getattr(message, name)
                for key, item in value.items():
                    if field.message_type.fields_by_name["value"].message_type is not None:
                        build(target[key], item)
                    else:
                        target[key] = item
            elif field.message_type is not None:
                items = value if field.is_repeated else [value]
                for item in items:
                    build(getattr(message, name).add() if field.is_repeated else getattr(message, name), item)
                    if not item and not field.is_repeated:
                        getattr(message, name).SetInParent()
            elif field.is_repeated:
                getattr(message, name).extend(value)
            else:
                setattr(message, name, value)
        except (ValueError, TypeError):
            message.ClearField(name)
    return message


def request_bytes(method: MethodDescriptor) -> st.SearchStrategy[bytes]:
    message_class = GetMessageClass(method.input_type)
    return fields_of(method.input_type).map(lambda values: build(message_class(), values).SerializeToString())


def corrupt_bytes(method: MethodDescriptor) -> st.SearchStrategy[bytes]:
    """Random bytes, a valid request cut short or with a flipped byte, or a string field of invalid UTF-8."""
    strings = [f.number for f in method.input_type.fields if f.type == FieldDescriptor.TYPE_STRING]
    bad_text = st.sampled_from(strings or [1]).map(lambda n: bytes([(n << 3) | 2, 3]) + b"\xff\xfe\xc3")
    mangled = st.tuples(request_bytes(method), st.integers(0, 1000), st.integers(1, 255)).map(
        lambda t: t[0][: t[1] % (len(t[0]) + 1)] if t[2] % 2 else _flip(t[0], t[1], t[2])
    )
    return st.one_of(st.binary(min_size=1, max_size=256), bad_text, mangled)


def _flip(data: bytes, at: int, mask: int) -> bytes:
    if not data:
        return b"\x0a\xff"
    at %= len(data)
    return data[:at] + bytes([data[at] ^ mask]) + data[at + 1 :]


def path_of(method: MethodDescriptor) -> str:
    return f"/{method.containing_service.full_name}/{method.name}"


def sender(
    method: MethodDescriptor, call: Any, metadata: Any, answers: Counter[str], faults: list[str]
) -> Callable[[bytes], None]:
    """A test body: send one request body, count its answer, note a server fault."""

    def send(body: bytes) -> None:
        try:
            call(body, metadata=metadata, timeout=30)
            code, details = grpc.StatusCode.OK, ""
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
        answers[code.name] += 1
        if code in SERVER_FAULTS:
            faults.append(f"{method.name} {code.name} {details[:300]!r} on {body[:200]!r}")

    return send


def fuzz(address: str, key: str) -> tuple[Counter[str], list[str]]:
    """Send every method its generated and corrupt requests; count the answers and list the server faults."""
    answers: Counter[str] = Counter()
    faults: list[str] = []
    metadata = (("authorization", f"Bearer {key}"),)
    with grpc.insecure_channel(address, options=[("grpc.max_send_message_length", 8 * 1024 * 1024)]) as channel:
        for method in METHODS:
            call = channel.unary_unary(path_of(method), request_serializer=None, response_deserializer=None)

            generated, corrupt = (sender(method, call, metadata, answers, faults) for _ in range(2))
            bounded = settings(
                max_examples=EXAMPLES_PER_METHOD,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            given(body=request_bytes(method))(bounded(generated))()
            given(body=corrupt_bytes(method))(settings(bounded, max_examples=CORRUPT_PER_METHOD)(corrupt))()
    return answers, faults


@pytest.mark.timeout(900)  # bounded: 40 requests per method of every public service
async def test_no_generated_or_corrupt_request_makes_the_gateway_fail(suite: RunningSuite) -> None:
    tenant = await suite.new_tenant()
    answers, faults = await asyncio.to_thread(fuzz, suite.suite.address("gateway"), tenant.key)
    print(f"gRPC fuzz: {len(METHODS)} methods, {sum(answers.values())} requests, answers {dict(answers)}")
    assert not faults, "\n".join(faults)
    assert sum(answers.values()) >= len(METHODS) * (EXAMPLES_PER_METHOD + CORRUPT_PER_METHOD) // 2
    assert answers["OK"] > 0 and answers["INVALID_ARGUMENT"] > 0
