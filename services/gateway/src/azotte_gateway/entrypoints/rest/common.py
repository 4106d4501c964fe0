"""What every REST area module uses: the authenticated caller, the gateway, request bodies, JSON answers."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import UnionType
from typing import Annotated, Any, ClassVar, ParamSpec, TypeVar, Union, get_args, get_origin

from fastapi import Depends, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from azotte_gateway.service_layer.auth import (
    CUSTOMER_TOKEN_HEADER,
    Caller,
    single_authorization,
    single_customer_token,
)
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.requests import field_limit, text_problem

JSON = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")
_bearer = HTTPBearer(auto_error=False, description="An API key `azk_<mode>_<prefix>_<secret>`.")


def awaited(build: Callable[P, T]) -> Callable[P, Awaitable[T]]:
    """`build` (e.g. a class of query parameters) as a dependency FastAPI awaits, with the same parameters.

    NOTE: FastAPI runs a dependency that is a plain function or a class in a worker thread, each request: a
    thread hop, and a wait for the interpreter lock the event loop holds. Every dependency here is awaited.
    """

    @functools.wraps(build)
    async def built(*args: P.args, **kwargs: P.kwargs) -> T:
        return build(*args, **kwargs)

    return built


async def gateway(request: Request) -> Gateway:
    """The gateway's areas, built by the composition root."""
    built: Gateway = request.app.state.gateway
    return built


Gw = Annotated[Gateway, Depends(gateway)]


async def caller(
    request: Request, built: Gw, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> AsyncIterator[Caller]:
    """The authenticated caller of this request (rate limited per key); the endpoint runs as its tenant."""
    authorization = single_authorization(request.headers.getlist("authorization"))
    customer_token = single_customer_token(request.headers.getlist(CUSTOMER_TOKEN_HEADER))
    who = await built.authenticator.authenticate(authorization, customer_token)
    with who.scope():
        yield who


INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
"""An integer that fits the int64 field it is forwarded in."""
Quantity = Annotated[int, Field(ge=0, le=INT64_MAX, description="Units asked for, checked against the quota left.")]
"""A count of units: never negative, and it fits an int64."""


async def clean_parameters(request: Request) -> None:
    """Every query parameter is one the endpoint takes (a misspelt one is an error, as a body's unknown field is),
    and path and query parameters hold no NUL or lone surrogate and keep to their field's length limit.

    NOTE: the same rules as every gRPC request's string fields (`azotte_platform.grpc.requests`).
    """
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        taken = query_parameters(route.dependant)
        for name in request.query_params:
            if name not in taken:
                raise InvalidArgument.field(name, "is not a parameter of this request")
    for source in (request.path_params.items(), request.query_params.multi_items()):
        for name, value in source:
            if isinstance(value, str):
                problem = text_problem(value, field_limit(name))
                if problem is not None:
                    raise InvalidArgument.field(name, problem)


def query_parameters(dependant: Dependant) -> set[str]:
    """The names of the query parameters an endpoint (or a dependency) takes, its dependencies' included."""
    names = {field.alias for field in dependant.query_params}
    for dependency in dependant.dependencies:
        names |= query_parameters(dependency)
    return names


Who = Annotated[Caller, Depends(caller)]
PageSize = Annotated[int, Query(ge=0, le=500)]


@dataclass(frozen=True)
class ListQuery:
    """The query parameters every list takes: AIP-158 paging, an AIP-160 `filter` and an AIP-132 `order_by`
    (the fields each list accepts are in its description)."""

    page_size: PageSize = 0
    page_token: str = ""
    filter: str = ""
    order_by: str = ""

    def fields(self) -> dict[str, Any]:
        """The four as fields of a list request message."""
        return dataclasses.asdict(self)


Listing = Annotated[ListQuery, Depends(awaited(ListQuery))]


def js(message: Message) -> JSON:
    """A message in its JSON form, snake_case names, default values included."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class Body(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than a silent default.

    Every string field keeps to its length limit and holds no NUL or lone surrogate, and every integer is a
    number (not true or false) that fits an int64, by the same rules as the gRPC requests the body is forwarded
    in. A body names its fields as the gateway's gRPC request does, so errors name the caller's fields on both.
    """

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_an_integer(cls, value: Any, info: ValidationInfo) -> Any:
        # NOTE: pydantic takes JSON's true and false for 1 and 0 in an integer field.
        if isinstance(value, bool) and _holds_an_integer(cls.model_fields[info.field_name or ""].annotation):
            raise PydanticCustomError("int_type", "must be an integer, not true or false")
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _forwardable(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            problem = text_problem(value, field_limit(info.field_name or ""))
            if problem is not None:
                raise PydanticCustomError("text", problem)
        elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            raise PydanticCustomError("int64", "must fit a 64-bit signed integer")
        return value


def _holds_an_integer(annotation: Any) -> bool:
    """Whether a field of this type holds an integer (or nothing), never a boolean."""
    kinds = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else (annotation,)
    return int in kinds and bool not in kinds


def _use_case_rules(schema: dict[str, Any], model: type[BaseModel]) -> None:
    """Document the rules a body's use case checks after authorization (so a refusal names the role first)."""
    rules: dict[str, dict[str, Any]] = getattr(model, "use_case_rules", {})
    for name, rule in rules.items():
        schema["required"] = sorted({*schema.get("required", []), name})
        schema["properties"][name].pop("default", None)
        schema["properties"][name].update(rule)


class MutatingBody(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra=_use_case_rules)
    use_case_rules: ClassVar[dict[str, dict[str, Any]]] = {"request_id": {"minLength": 1}}
    """Fields the use case requires (documented as required) and the rules it holds them to."""

    # NOTE: required by the use case (after authorization), not here, so a refusal names the role first.
    request_id: str = Field(
        default="",
        max_length=128,
        description="Required: names the call, so that a retry with the same id returns the first answer.",
    )
