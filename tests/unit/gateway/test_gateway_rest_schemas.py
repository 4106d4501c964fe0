"""The REST response models say exactly what `js` writes for every answer of the gateway, field by field."""

from __future__ import annotations

from typing import Any

import pytest
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from pydantic import ValidationError

from azotte.gateway.v1 import gateway_pb2, tenant_admin_pb2
from azotte_gateway.entrypoints.rest.common import js
from azotte_gateway.entrypoints.rest.schemas import response_model

ANSWERS = [
    GetMessageClass(method.output_type)
    for module, service in ((gateway_pb2, "GatewayService"), (tenant_admin_pb2, "TenantAdminService"))
    for method in module.DESCRIPTOR.services_by_name[service].methods
]
SCALARS: dict[int, Any] = {
    FieldDescriptor.TYPE_INT64: -(2**63),
    FieldDescriptor.TYPE_SINT64: -(2**63),
    FieldDescriptor.TYPE_SFIXED64: 2**63 - 1,
    FieldDescriptor.TYPE_UINT64: 2**64 - 1,
    FieldDescriptor.TYPE_FIXED64: 2**64 - 1,
    FieldDescriptor.TYPE_INT32: -7,
    FieldDescriptor.TYPE_SINT32: -7,
    FieldDescriptor.TYPE_SFIXED32: -7,
    FieldDescriptor.TYPE_UINT32: 7,
    FieldDescriptor.TYPE_FIXED32: 7,
    FieldDescriptor.TYPE_DOUBLE: 0.5,
    FieldDescriptor.TYPE_FLOAT: 0.5,
    FieldDescriptor.TYPE_BOOL: True,
    FieldDescriptor.TYPE_STRING: "text",
    FieldDescriptor.TYPE_BYTES: b"\x00\xff",
}


def filled(message: Message, depth: int = 0) -> Message:
    """`message` with every field set (one item per repeated field; nested messages to depth 4)."""
    descriptor = message.DESCRIPTOR
    if descriptor.full_name in ("google.protobuf.Timestamp", "google.protobuf.Duration"):
        message.seconds, message.nanos = 1_700_000_000, 500_000_000  # type: ignore[attr-defined]
        return message
    for field in descriptor.fields:
        if field.containing_oneof is not None and message.WhichOneof(field.containing_oneof.name):
            continue
        target = getattr(message, field.name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            value_field = field.message_type.fields_by_name["value"]
            key = "k" if field.message_type.fields_by_name["key"].type == FieldDescriptor.TYPE_STRING else 1
            if value_field.message_type is not None:
                filled(target[key], depth + 1)
            else:
                target[key] = _scalar(value_field)
        elif field.message_type is not None:
            if depth < 4:
                filled(target.add() if field.is_repeated else target, depth + 1)
                if not field.is_repeated:
                    target.SetInParent()
        elif field.is_repeated:
            target.append(_scalar(field))
        else:
            setattr(message, field.name, _scalar(field))
    return message


def _scalar(field: Any) -> Any:
    if field.enum_type is not None:
        return field.enum_type.values[-1].number
    return SCALARS[field.type]


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda answer: answer.DESCRIPTOR.name)
def test_every_field_of_every_answer_is_documented_as_written(answer: type[Message]) -> None:
    model = response_model(answer)
    for message in (answer(), filled(answer())):
        written = js(message)
        assert model.model_validate(written).model_dump(by_alias=True, exclude_unset=True) == written


def test_int64_is_a_json_string_and_a_field_with_presence_may_be_absent() -> None:
    model = response_model(gateway_pb2.CheckAccessResponse)
    decision = model.model_json_schema()["$defs"]["AccessDecision"]
    assert decision["properties"]["remaining_quota"]["type"] == "string"
    assert "remaining_quota" not in decision["required"] and "allowed" in decision["required"]
    with pytest.raises(ValidationError):
        model.model_validate({"decision": {**js(gateway_pb2.AccessDecision()), "remaining_quota": 5}})
    with pytest.raises(ValidationError):
        model.model_validate({**js(gateway_pb2.CheckAccessResponse()), "undocumented": "x"})
