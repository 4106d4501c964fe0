"""Response models built from the protobuf messages the REST endpoints answer, so the OpenAPI document says
exactly what `common.js` writes.

`json_format.MessageToDict(preserving_proto_field_name=True, always_print_fields_with_no_presence=True)` writes
every field without presence (so those are required), writes a field with presence (a message, a proto3
`optional` or a oneof member) only when it is set, writes 64-bit integers as decimal strings, enums by name,
bytes in base64 and the well-known types in their JSON forms (a Timestamp is an RFC 3339 string, a Duration
"1.5s"). The models are made once per message, from its descriptor, so a field added to a proto appears in the
document without a change here.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Literal

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field, create_model

from azotte_platform.grpc.requests import field_limit

_INT64 = Annotated[str, Field(pattern=r"^-?[0-9]+$", json_schema_extra={"format": "int64"})]
_UINT64 = Annotated[str, Field(pattern=r"^[0-9]+$", json_schema_extra={"format": "uint64"})]
_FLOAT = float | Literal["NaN", "Infinity", "-Infinity"]
_SCALARS: dict[int, Any] = {
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _UINT64,
    FieldDescriptor.TYPE_FIXED64: _UINT64,
    FieldDescriptor.TYPE_INT32: int,
    FieldDescriptor.TYPE_SINT32: int,
    FieldDescriptor.TYPE_SFIXED32: int,
    FieldDescriptor.TYPE_UINT32: Annotated[int, Field(ge=0)],
    FieldDescriptor.TYPE_FIXED32: Annotated[int, Field(ge=0)],
    FieldDescriptor.TYPE_DOUBLE: _FLOAT,
    FieldDescriptor.TYPE_FLOAT: _FLOAT,
    FieldDescriptor.TYPE_BOOL: bool,
    FieldDescriptor.TYPE_STRING: str,
    FieldDescriptor.TYPE_BYTES: Annotated[str, Field(json_schema_extra={"format": "byte"})],
}
_WELL_KNOWN: dict[str, Any] = {
    "google.protobuf.Timestamp": Annotated[str, Field(json_schema_extra={"format": "date-time"})],
    "google.protobuf.Duration": Annotated[str, Field(pattern=r"^-?[0-9]+(\.[0-9]+)?s$")],
    "google.protobuf.FieldMask": str,
    "google.protobuf.Struct": dict[str, Any],
    "google.protobuf.Value": Any,
    "google.protobuf.ListValue": list[Any],
    "google.protobuf.Any": dict[str, Any],
    "google.protobuf.Empty": dict[str, Any],
    "google.protobuf.Int64Value": _INT64,
    "google.protobuf.UInt64Value": _UINT64,
    "google.protobuf.Int32Value": int,
    "google.protobuf.UInt32Value": Annotated[int, Field(ge=0)],
    "google.protobuf.DoubleValue": _FLOAT,
    "google.protobuf.FloatValue": _FLOAT,
    "google.protobuf.BoolValue": bool,
    "google.protobuf.StringValue": str,
    "google.protobuf.BytesValue": Annotated[str, Field(json_schema_extra={"format": "byte"})],
}


def _absent_not_null(schema: dict[str, Any]) -> None:
    # NOTE: an unset field with presence is left out of the JSON, never written as null.
    for field in schema.get("properties", {}).values():
        if field.get("default", ...) is None:
            del field["default"]


class ProtoJson(BaseModel):
    """A message in its JSON form; the document lists exactly its fields."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, json_schema_extra=_absent_not_null)


def response_model(message: type[Message]) -> type[BaseModel]:
    """The model of `message`'s JSON form, as `common.js` writes it."""
    return _model(message.DESCRIPTOR)


def answers(message: type[Message]) -> dict[str, Any]:
    """Route arguments documenting (and checking) a JSON answer of `message`: absent fields stay absent."""
    return {"response_model": response_model(message), "response_model_exclude_unset": True}


_names: dict[str, str] = {}


def _schema_name(descriptor: Descriptor) -> str:
    name = descriptor.name
    if _names.setdefault(name, descriptor.full_name) != descriptor.full_name:
        name = re.sub(r"[^A-Za-z0-9]", "_", descriptor.full_name)
    return name


@cache
def _model(descriptor: Descriptor) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for field in descriptor.fields:
        kind = _field_type(field)
        if field.has_presence:
            # NOTE: absent when unset, never null; the default is not validated, so None stands for "absent".
            fields[f"f_{field.name}"] = (kind, Field(default=None, alias=field.name))
        else:
            fields[f"f_{field.name}"] = (kind, Field(alias=field.name))
    model: type[BaseModel] = create_model(
        _schema_name(descriptor), __base__=ProtoJson, __doc__=f"`{descriptor.full_name}` in its JSON form.", **fields
    )
    return model


def _field_type(field: FieldDescriptor) -> Any:
    if field.message_type is not None and field.message_type.GetOptions().map_entry:
        key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
        del key  # NOTE: JSON object keys are strings whatever the key type
        return dict[str, _single_type(value)]  # type: ignore[misc]
    single = _single_type(field)
    if field.is_repeated:
        return list[single]  # type: ignore[valid-type]
    return single


def _single_type(field: FieldDescriptor) -> Any:
    if field.message_type is not None:
        name = field.message_type.full_name
        return _WELL_KNOWN[name] if name in _WELL_KNOWN else _model(field.message_type)
    if field.enum_type is not None:
        return Literal[tuple(value.name for value in field.enum_type.values)]
    return _SCALARS[field.type]


NO_NUL = "^[^\x00]*$"
"""The pattern of every string the API reads: no NUL character (`azotte_platform.grpc.requests.text_problem`)."""


def document_inputs(document: dict[str, Any]) -> None:
    """Say in `document` what the API checks in every string it reads: no NUL, at most the field's limit.

    NOTE: the same rules `common.clean_parameters` and `common.Body` apply, from the same `field_limit`.
    """
    schemas = document.get("components", {}).get("schemas", {})
    bodies: set[str] = set()
    for operation in (op for path in document.get("paths", {}).values() for op in path.values()):
        for parameter in operation.get("parameters", []):
            _document_string(parameter["name"], parameter.get("schema", {}))
            if parameter.get("in") == "path":
                _document_path_segment(parameter.get("schema", {}))
        for content in operation.get("requestBody", {}).get("content", {}).values():
            _collect_refs(content.get("schema", {}), schemas, bodies)
    for name in bodies:
        for field, schema in schemas[name].get("properties", {}).items():
            _document_string(field, schema)


def _collect_refs(schema: Any, schemas: dict[str, Any], seen: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            if name not in seen:
                seen.add(name)
                _collect_refs(schemas.get(name, {}), schemas, seen)
        for value in schema.values():
            _collect_refs(value, schemas, seen)
    elif isinstance(schema, list):
        for value in schema:
            _collect_refs(value, schemas, seen)


def _document_path_segment(schema: dict[str, Any]) -> None:
    """An empty path parameter names another route (`/v1/promotions//code-batches`), so ids are never empty."""
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string":
            option["minLength"] = max(option.get("minLength", 0), 1)


def _document_string(name: str, schema: dict[str, Any]) -> None:
    for option in schema.get("anyOf", [schema]):
        if option.get("type") == "string" and "enum" not in option and "format" not in option:
            option.setdefault("pattern", NO_NUL)
            limit = field_limit(name)
            if limit is not None:
                option["maxLength"] = min(option.get("maxLength", limit), limit)


_CUSTOMER_READS = ("get /v1/customers/{customer_id}", "get /v1/customers/{customer_id}/subscriptions")
_CUSTOMER_ROUTES = (
    *_CUSTOMER_READS,
    "get /v1/customers/{customer_id}/charges",
    "get /v1/customers/{customer_id}/entitlements",
    "post /v1/customers/{customer_id}/payment-methods",
    "get /v1/customers/{customer_id}/payment-methods",
    "get /v1/customers/{customer_id}/credits",
    "get /v1/customers/{customer_id}/credit-movements",
    "post /v1/customers/{customer_id}/credits:grant",
)
_FAMILY_ROUTES = (
    "get /v1/customers/{customer_id}/family",
    "get /v1/customers/{customer_id}/family/members",
    "get /v1/customers/{customer_id}/family/invites",
    "post /v1/customers/{customer_id}/family/invites",
)
"""A customer's family, which a checkout of a plan with seats makes (a new customer has none: 404)."""
_SUBSCRIPTION_ROUTES = tuple(
    f"post /v1/subscriptions/{{subscription_id}}:{verb}"
    for verb in ("cancel", "reactivate", "pause", "resume", "preview-change", "change-plan")
)
LINKS: dict[str, dict[str, tuple[str, ...]]] = {
    "post /v1/customers": {"customer_id=$response.body#/customer/id": _CUSTOMER_ROUTES},
    "post /v1/checkout": {
        "customer_id=$response.body#/subscription/customer_id": (*_CUSTOMER_ROUTES, *_FAMILY_ROUTES),
        "subscription_id=$response.body#/subscription/id": (
            "get /v1/subscriptions/{subscription_id}",
            *_SUBSCRIPTION_ROUTES,
        ),
        "charge_id=$response.body#/charge/id": (
            "post /v1/charges/{charge_id}:refund",
            "post /v1/charges/{charge_id}:void",
        ),
    },
    "post /v1/storefronts": {
        "storefront_id=$response.body#/storefront/id": (
            "get /v1/storefronts/{storefront_id}",
            "patch /v1/storefronts/{storefront_id}",
        )
    },
    "post /v1/features": {
        "feature_key=$response.body#/feature/key": (
            "get /v1/features/{feature_key}",
            "patch /v1/features/{feature_key}",
        )
    },
    "post /v1/plans": {
        "plan_id=$response.body#/plan/id": (
            "get /v1/plans/{plan_id}",
            "patch /v1/plans/{plan_id}",
            "post /v1/plans/{plan_id}:activate",
            "post /v1/plans/{plan_id}:retire",
        )
    },
    "post /v1/prices": {"price_id=$response.body#/price/id": ("post /v1/prices/{price_id}:cancel",)},
    "post /v1/customers/{customer_id}/family/invites": {
        "code=$response.body#/invite/code": ("post /v1/family-invites/{code}:accept",)
    },
}
"""Which answer's ids the next calls take (OpenAPI links: a client, or schemathesis, follows them)."""


def document_links(document: dict[str, Any]) -> None:
    """Add `LINKS` to the 200 answers of `document` (operations named "method path")."""
    paths = document.get("paths", {})

    def operation(name: str) -> dict[str, Any]:
        method, path = name.split(" ", 1)
        found: dict[str, Any] = paths[path][method]
        return found

    for source, by_parameter in LINKS.items():
        links = operation(source)["responses"]["200"].setdefault("links", {})
        for binding, targets in by_parameter.items():
            parameter, expression = binding.split("=", 1)
            for target in targets:
                name = re.sub(r"[^A-Za-z0-9]+", "_", f"{target} {parameter}").strip("_")
                links[name] = {
                    "operationId": operation(target)["operationId"],
                    "parameters": {parameter: expression},
                }
