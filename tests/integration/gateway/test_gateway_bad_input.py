"""Bad input through the REST API is a 4xx naming the request's own field, never a 500, and writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_gateway.entrypoints.rest.errors import MAX_BODY_BYTES
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.status import from_rpc_error
from tests.integration.gateway import conftest
from tests.integration.gateway.conftest import GatewayUnderTest, running_gateway
from tests.integration.gateway.gateway_fakes import FakeLifecycle

INT64_PAST = 2**63
ERROR_STATUSES = {"400", "401", "403", "404", "409", "429", "503"}


class ValidatingLifecycle(FakeLifecycle):
    """Lifecycle's own refusals name its request's fields (`resume_time`, `plan_id`), as the real one does."""

    async def PauseSubscription(self, request: Any, context: Any) -> Any:
        raise InvalidArgument.field("resume_time", "must be in the future")

    async def ChangeSubscriptionPlan(self, request: Any, context: Any) -> Any:
        raise InvalidArgument.field("plan_id", "subscription is already on this plan")


@pytest.fixture(scope="module")
async def probed(servers: Any, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[GatewayUnderTest]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(conftest, "FakeLifecycle", ValidatingLifecycle)
        state: Path = tmp_path_factory.mktemp("gateway-bad-input")
        async with running_gateway(servers, state) as running:
            yield running


def rid() -> str:
    return uuid.uuid4().hex


def assert_names(answer: Any, status: int, field: str) -> str:
    """The answer is `status` in the uniform body, with a BadRequest violation naming `field`; its description."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == status
    violations = [
        v for d in error["details"] if d["@type"].endswith("google.rpc.BadRequest") for v in d["field_violations"]
    ]
    assert [v["field"] for v in violations] == [field], error
    assert error["message"].startswith(f"{field}:"), error
    return str(violations[0]["description"])


async def test_an_integer_past_int64_is_400_naming_the_field(probed: GatewayUnderTest) -> None:
    answer = await probed.http.get(f"/v1/customers/cus_1/access/hd?quantity={INT64_PAST}", headers=probed.auth())
    assert_names(answer, 400, "quantity")
    charges_before = dict(probed.world.charges)
    refund = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": INT64_PAST}}
    answer = await probed.http.post("/v1/charges/ch_1:refund", json=refund, headers=probed.auth())
    assert assert_names(answer, 400, "amount.amount_minor") == "must fit a 64-bit signed integer"
    assert probed.world.charges == charges_before


async def test_true_or_false_for_an_integer_is_400_naming_the_field(probed: GatewayUnderTest) -> None:
    answer = await probed.http.post("/v1/customers/cus_1/tokens", json={"ttl_seconds": True}, headers=probed.auth())
    assert assert_names(answer, 400, "ttl_seconds") == "must be an integer, not true or false"
    charges_before = dict(probed.world.charges)
    refund = {"request_id": rid(), "amount": {"currency_code": "USD", "amount_minor": False}}
    answer = await probed.http.post("/v1/charges/ch_1:refund", json=refund, headers=probed.auth())
    assert_names(answer, 400, "amount.amount_minor")
    assert probed.world.charges == charges_before


async def test_a_nul_in_a_path_segment_is_400_naming_the_parameter(probed: GatewayUnderTest) -> None:
    reads = probed.world.customer_reads
    answer = await probed.http.get("/v1/customers/cus_%00abc", headers=probed.auth())
    assert assert_names(answer, 400, "customer_id") == "must not contain a NUL character"
    answer = await probed.http.get("/v1/customers/cus_1/charges?subscription_id=s%00", headers=probed.auth())
    assert_names(answer, 400, "subscription_id")
    assert probed.world.customer_reads == reads


async def test_a_query_parameter_the_endpoint_does_not_take_is_400_naming_it(probed: GatewayUnderTest) -> None:
    reads = probed.world.customer_reads
    answer = await probed.http.get("/v1/customers/cus_1?expand=charges", headers=probed.auth())
    assert assert_names(answer, 400, "expand") == "is not a parameter of this request"
    answer = await probed.http.get("/v1/customers/cus_1/charges?page_size=5&pagesize=5", headers=probed.auth())
    assert_names(answer, 400, "pagesize")
    assert probed.world.customer_reads == reads
    # NOTE: the list's own parameters pass, and the endpoint answers for its (unknown) customer.
    listed = await probed.http.get(
        "/v1/customers/cus_1/charges?page_size=5&subscription_id=sub_1&filter=&order_by=", headers=probed.auth()
    )
    assert listed.json()["error"]["status"] == "NOT_FOUND", listed.text
    assert probed.world.customer_reads == reads + 1


async def test_a_nul_or_lone_surrogate_in_a_body_field_is_400_and_nothing_is_written(
    probed: GatewayUnderTest,
) -> None:
    customers = set(probed.world.customers)
    for field in ("external_id", "email", "request_id"):
        body = {"request_id": rid(), "external_id": "ext", "email": "a@example.com", field: "x\x00y"}
        answer = await probed.http.post("/v1/customers", json=body, headers=probed.auth())
        assert assert_names(answer, 400, field) == "must not contain a NUL character"
    raw = b'{"request_id": "r-surrogate", "external_id": "ext\\ud800"}'
    headers = {**probed.auth(), "Content-Type": "application/json"}
    answer = await probed.http.post("/v1/customers", content=raw, headers=headers)
    assert "lone surrogates" in assert_names(answer, 400, "external_id")
    card = {"request_id": rid(), "payment_method_token": "tok_\x00success"}
    answer = await probed.http.post("/v1/customers/cus_1/payment-methods", json=card, headers=probed.auth())
    assert_names(answer, 400, "payment_method_token")
    assert probed.world.customers == customers


async def test_a_megabyte_id_is_400_with_the_field_s_length_limit(probed: GatewayUnderTest) -> None:
    customers = set(probed.world.customers)
    body = {"request_id": rid(), "external_id": "x" * 1_000_000}
    answer = await probed.http.post("/v1/customers", json=body, headers=probed.auth())
    assert assert_names(answer, 400, "external_id") == "must be at most 256 characters"
    assert probed.world.customers == customers


async def test_an_oversized_body_is_413_in_the_uniform_body(probed: GatewayUnderTest) -> None:
    body = {"request_id": rid(), "email": "x" * (MAX_BODY_BYTES + 1)}
    answer = await probed.http.post("/v1/customers", json=body, headers=probed.auth())
    assert answer.status_code == 413, answer.text
    error = answer.json()["error"]
    assert error["code"] == 413 and error["status"] == "INVALID_ARGUMENT"
    assert error["details"][0]["reason"] == "REQUEST_BODY_TOO_LARGE"
    assert str(MAX_BODY_BYTES) in error["message"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"request_id": "r", "email": "'
        for _ in range(8):
            yield b"x" * (MAX_BODY_BYTES // 4)
        yield b'"}'

    headers = {**probed.auth(), "Content-Type": "application/json"}
    answer = await probed.http.post("/v1/customers", content=chunks(), headers=headers)
    assert answer.status_code == 413, answer.text
    assert answer.json()["error"]["details"][0]["reason"] == "REQUEST_BODY_TOO_LARGE"


async def test_malformed_json_is_400_naming_the_body(probed: GatewayUnderTest) -> None:
    headers = {**probed.auth(), "Content-Type": "application/json"}
    answer = await probed.http.post("/v1/customers", content=b'{"request_id": "r", ', headers=headers)
    assert assert_names(answer, 400, "body").startswith("is not valid JSON")


async def test_errors_name_the_rest_request_s_own_fields(probed: GatewayUnderTest) -> None:
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    key = {"request_id": rid(), "display_name": "old", "role": "viewer", "expire_time": past}
    answer = await probed.http.post("/v1/api-keys", json=key, headers=probed.auth())
    assert_names(answer, 400, "expire_time")
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    pause = {"request_id": rid(), "resume_time": future}
    answer = await probed.http.post("/v1/subscriptions/sub_1:pause", json=pause, headers=probed.auth())
    assert_names(answer, 400, "resume_time")
    change = {"request_id": rid(), "new_plan_id": "basic"}
    answer = await probed.http.post("/v1/subscriptions/sub_1:change-plan", json=change, headers=probed.auth())
    assert_names(answer, 400, "new_plan_id")


async def test_the_openapi_document_describes_the_uniform_error_and_no_422(probed: GatewayUnderTest) -> None:
    document = (await probed.http.get("/openapi.json")).json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ErrorBody" in document["components"]["schemas"]
    operations = [op for path in document["paths"].values() for op in path.values()]
    assert len(operations) > 20
    for operation in operations:
        responses = operation["responses"]
        assert "422" not in responses, operation["operationId"]
        assert set(responses) >= ERROR_STATUSES, operation["operationId"]
        for status in ERROR_STATUSES:
            schema = responses[status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (operation["operationId"], status)


async def test_a_reused_request_id_is_refused_without_showing_any_key(probed: GatewayUnderTest) -> None:
    body = {
        "request_id": f"mine-{rid()}",
        "customer_id": f"cus_{rid()[:8]}",
        "storefront_id": "us",
        "plan_id": "basic",
        "payment_method_token": "tok_success",
    }
    assert (await probed.http.post("/v1/checkout", json=body, headers=probed.auth())).status_code == 200
    answer = await probed.http.post("/v1/checkout", json={**body, "plan_id": "trial"}, headers=probed.auth())
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["details"][0]["reason"] == "REQUEST_ID_REUSED"
    assert body["request_id"] not in answer.text
    assert error["message"] == "this request_id was already used for a request with other content; use a new request_id"


async def test_grpc_errors_name_the_gateway_request_s_own_fields(probed: GatewayUnderTest) -> None:
    async with grpc.aio.insecure_channel(probed.grpc_target) as channel:
        stub: Any = gateway_pb2_grpc.GatewayServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.ChangeSubscriptionPlan(
                gw.ChangeSubscriptionPlanRequest(request_id=rid(), subscription_id="sub_1", new_plan_id="basic"),
                metadata=(("authorization", f"Bearer {probed.admin_key}"),),
            )
    error = from_rpc_error(refused.value)
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.violations] == ["new_plan_id"]
