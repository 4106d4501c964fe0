"""What every REST area module uses: the authenticated caller, the gateway, request bodies, JSON answers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from google.protobuf import json_format
from google.protobuf.message import Message
from pydantic import BaseModel, ConfigDict, Field

from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.gateway import Gateway

JSON = dict[str, Any]
_bearer = HTTPBearer(auto_error=False, description="An API key `azk_<mode>_<prefix>_<secret>`.")


def gateway(request: Request) -> Gateway:
    """The gateway's areas, built by the composition root."""
    built: Gateway = request.app.state.gateway
    return built


async def caller(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> AsyncIterator[Caller]:
    """The authenticated caller of this request (rate limited per key); the endpoint runs as its tenant."""
    who = await gateway(request).authenticator.authenticate(request.headers.get("authorization"))
    with who.scope():
        yield who


Gw = Annotated[Gateway, Depends(gateway)]
Who = Annotated[Caller, Depends(caller)]
PageSize = Annotated[int, Query(ge=0, le=500)]


def js(message: Message) -> JSON:
    """A message in its JSON form, snake_case names, default values included."""
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


class Body(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than a silent default."""

    model_config = ConfigDict(extra="forbid")


class MutatingBody(Body):
    # NOTE: required by the use case (after authorization), not here, so a refusal names the role first.
    request_id: str = Field(
        default="",
        max_length=128,
        description="Required: names the call, so that a retry with the same id returns the first answer.",
    )
