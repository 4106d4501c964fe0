"""The public surface: every RPC has its area method, and every typed error its HTTP status."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest

from azotte_gateway.domain.checkout import charge_idempotency_key
from azotte_gateway.entrypoints.rest.errors import azotte_error_response
from azotte_gateway.entrypoints.servicer import PUBLIC_SERVICES, PublicService
from azotte_gateway.service_layer.auth import bearer_key
from azotte_gateway.service_layer.checkout import derived_request_id
from azotte_platform import errors
from tests.unit.gateway.fakes import FakeSuite


@pytest.mark.parametrize("service", PUBLIC_SERVICES, ids=lambda service: service.descriptor.name)
async def test_every_rpc_is_served_by_the_area_method_of_its_name(
    service: PublicService, monkeypatch: pytest.MonkeyPatch
) -> None:
    gateway = FakeSuite().gateway()
    areas = [getattr(gateway, f.name) for f in dataclasses.fields(gateway) if f.name != "authenticator"]
    servicer = service.servicer(gateway)

    async def served_by(operation: Any, request: Any, context: Any) -> Any:
        return operation

    async def streamed_by(operation: Any, request: Any, context: Any) -> Any:
        async def answers() -> AsyncIterator[Any]:
            yield operation

        return answers()

    for method in service.descriptor.methods:
        assert method.name in type(servicer).__dict__, f"{method.name} is not implemented"
        streaming = method.client_streaming or method.server_streaming
        monkeypatch.setattr(servicer, "serve", streamed_by if streaming else served_by)
        call = getattr(servicer, method.name)(None, None)
        operation = await (anext(call) if streaming else call)
        assert operation.__self__ in areas, f"{method.name} is not served by an area"
        assert operation.__name__ == re.sub(r"(?<!^)(?=[A-Z])", "_", method.name).lower()


@pytest.mark.parametrize(
    ("error", "http", "status"),
    [
        (errors.NotFound("x"), 404, "NOT_FOUND"),
        (errors.InvalidArgument.field("plan_id", "unknown"), 400, "INVALID_ARGUMENT"),
        (errors.FailedPrecondition("x"), 409, "FAILED_PRECONDITION"),
        (errors.AlreadyExists("x"), 409, "ALREADY_EXISTS"),
        (errors.Aborted("x"), 409, "ABORTED"),
        (errors.ResourceExhausted("x", metadata={"retry_after_seconds": "3"}), 429, "RESOURCE_EXHAUSTED"),
        (errors.PermissionDenied("x"), 403, "PERMISSION_DENIED"),
        (errors.Unauthenticated("x"), 401, "UNAUTHENTICATED"),
        (errors.Unavailable("x"), 503, "UNAVAILABLE"),
        (errors.PaymentDeclined("declined", metadata={"decline_reason": "EXPIRED_CARD"}), 402, "FAILED_PRECONDITION"),
        # another service's decline, rebuilt from its status, is the shared class too
        (errors.remote(errors.FailedPrecondition, "declined", "PAYMENT_DECLINED", {}, []), 402, "FAILED_PRECONDITION"),
        (errors.remote(errors.FailedPrecondition, "taken", "DUPLICATE", {}, []), 409, "FAILED_PRECONDITION"),
    ],
)
def test_typed_errors_answer_the_uniform_body(error: errors.AzotteError, http: int, status: str) -> None:
    response = azotte_error_response(error)
    body = json.loads(bytes(response.body))
    assert response.status_code == http
    assert body["error"]["code"] == http and body["error"]["status"] == status
    assert body["error"]["details"][0]["reason"] == error.reason
    if isinstance(error, errors.InvalidArgument):
        assert body["error"]["details"][1]["field_violations"] == [{"field": "plan_id", "description": "unknown"}]
    if isinstance(error, errors.ResourceExhausted):
        assert response.headers["Retry-After"] == "3"


def test_checkout_keys_are_per_tenant_and_per_step() -> None:
    assert charge_idempotency_key("acme", "r1") != charge_idempotency_key("other", "r1")
    assert derived_request_id("r1", "charge") != derived_request_id("r1", "subscription")


@pytest.mark.parametrize("header", [None, "", "Token abc", "Basic abc"])
def test_only_bearer_authorization_is_accepted(header: str | None) -> None:
    with pytest.raises(errors.Unauthenticated):
        bearer_key(header)
    assert bearer_key("Bearer azk_x") == bearer_key("bearer azk_x") == "azk_x"
