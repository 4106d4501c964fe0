"""Authentication, roles, rate limits, tenants and the uniform error body, over REST and gRPC."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from azotte.gateway.v1 import gateway_pb2, gateway_pb2_grpc
from azotte_gateway.service_layer.admin import SANDBOX_KEY_FILE
from azotte_platform.grpc.status import DETAILS_KEY
from tests.integration.gateway.conftest import GatewayUnderTest, running_gateway


def error_of(answer: Any) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "status", "message", "details"}
    assert body["error"]["code"] == answer.status_code
    return dict(body["error"])


def reason_of(error: dict[str, Any]) -> str:
    return str(next(d["reason"] for d in error["details"] if d["@type"].endswith("ErrorInfo")))


async def test_first_start_writes_the_sandbox_admin_key_and_a_second_start_keeps_it(
    gateway: GatewayUnderTest,
) -> None:
    key_file = gateway.state_dir / SANDBOX_KEY_FILE
    assert key_file.stat().st_mode & 0o077 == 0
    assert gateway.admin_key.startswith("azk_sandbox_")
    again = await gateway.areas.admin.bootstrap(gateway.state_dir)
    assert again is None
    assert key_file.read_text().strip() == gateway.admin_key
    answer = await gateway.http.get("/v1/api-keys", headers=gateway.auth())
    assert answer.status_code == 200
    assert [k["role"] for k in answer.json()["api_keys"]] == ["API_KEY_ROLE_ADMIN"]
    assert "secret" not in answer.text and gateway.admin_key not in answer.text


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        (None, "API_KEY_MISSING"),
        ("Basic abc", "API_KEY_MALFORMED"),
        ("Bearer azk_sandbox_nope", "API_KEY_MALFORMED"),
        ("Bearer azk_sandbox_000000000000_" + "x" * 43, "API_KEY_INVALID"),
    ],
)
async def test_calls_without_a_valid_key_answer_401(
    gateway: GatewayUnderTest, authorization: str | None, reason: str
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = await gateway.http.get("/v1/customers/c1/entitlements", headers=headers)
    assert answer.status_code == 401
    error = error_of(answer)
    assert error["status"] == "UNAUTHENTICATED"
    assert reason_of(error) == reason


async def test_a_wrong_secret_with_a_real_prefix_is_refused(gateway: GatewayUnderTest) -> None:
    forged = gateway.admin_key[:-1] + ("a" if gateway.admin_key[-1] != "a" else "b")
    answer = await gateway.http.get("/v1/api-keys", headers=gateway.auth(forged))
    assert answer.status_code == 401


async def test_a_revoked_key_stops_working_at_once(gateway: GatewayUnderTest) -> None:
    key = await gateway.new_key("operator")
    assert (await gateway.http.get("/v1/customers/c1/entitlements", headers=gateway.auth(key))).status_code == 200
    keys = (await gateway.http.get("/v1/api-keys", headers=gateway.auth())).json()["api_keys"]
    key_id = next(k["id"] for k in keys if key.startswith(k["prefix"]))
    revoked = await gateway.http.post(
        f"/v1/api-keys/{key_id}:revoke", json={"request_id": uuid.uuid4().hex}, headers=gateway.auth()
    )
    assert revoked.status_code == 200 and revoked.json()["api_key"]["revoke_time"]
    answer = await gateway.http.get("/v1/customers/c1/entitlements", headers=gateway.auth(key))
    assert answer.status_code == 401
    assert reason_of(error_of(answer)) == "API_KEY_REVOKED"


@pytest.mark.parametrize(
    ("role", "method", "path", "body", "permission"),
    [
        ("viewer", "post", "/v1/subscriptions/sub_x:cancel", {}, "cancel_subscription"),
        ("viewer", "post", "/v1/api-keys", {"display_name": "k", "role": "viewer"}, "manage_api_keys"),
        ("operator", "put", "/v1/catalog", None, "apply_catalog"),
        ("operator", "post", "/v1/subscriptions/sub_x:change-plan", {"new_plan_id": "p"}, "change_subscription_plan"),
        ("manager", "post", "/v1/sandbox/clock:advance", {"advance_by_days": 1}, "advance_sandbox_clock"),
        ("publishable", "get", "/v1/customers/c1/charges", None, "read_charges"),
        ("publishable", "get", "/v1/customers/c1/subscriptions", None, "read_subscriptions"),
        ("publishable", "get", "/v1/customers/c1", None, "read_customers"),
        ("publishable", "get", "/v1/plans", None, "read_catalog"),
    ],
)
async def test_roles_without_the_permission_answer_403_naming_it(
    gateway: GatewayUnderTest, role: str, method: str, path: str, body: Any, permission: str
) -> None:
    key = await gateway.new_key(role)
    kwargs: dict[str, Any] = {"headers": gateway.auth(key)}
    if body is not None:
        kwargs["json"] = body
    elif method == "put":
        kwargs["content"] = "version: 1\n"
    answer = await getattr(gateway.http, method)(path, **kwargs)
    assert answer.status_code == 403, answer.text
    error = error_of(answer)
    assert error["status"] == "PERMISSION_DENIED"
    assert permission in error["message"] and role in error["message"]


async def test_publishable_keys_may_check_access_and_list_entitlements(gateway: GatewayUnderTest) -> None:
    key = await gateway.new_key("publishable")
    answer = await gateway.http.get("/v1/customers/c1/access/hd", headers=gateway.auth(key))
    assert answer.status_code == 200
    assert answer.json()["decision"]["allowed"] is False
    assert answer.json()["decision"]["denial_reason"] == "ACCESS_DENIAL_REASON_NO_ENTITLEMENT"


async def test_operators_refund_at_most_the_limit_and_admins_any_amount(gateway: GatewayUnderTest) -> None:
    operator = await gateway.new_key("operator")
    big = {"request_id": uuid.uuid4().hex, "amount": {"currency_code": "USD", "amount_minor": 50_000}}
    answer = await gateway.http.post("/v1/charges/ch_1:refund", json=big, headers=gateway.auth(operator))
    assert answer.status_code == 403
    assert reason_of(error_of(answer)) == "REFUND_LIMIT_EXCEEDED"


async def test_bad_bodies_answer_400_naming_the_field(gateway: GatewayUnderTest) -> None:
    answer = await gateway.http.post(
        "/v1/checkout",
        json={"request_id": "r", "customer_id": "c", "plan_id": "p", "channel": "fax"},
        headers=gateway.auth(),
    )
    assert answer.status_code == 400
    error = error_of(answer)
    assert error["status"] == "INVALID_ARGUMENT"
    fields = {v["field"] for d in error["details"] if "field_violations" in d for v in d["field_violations"]}
    assert {"storefront_id", "channel"} <= fields
    not_json = await gateway.http.post(
        "/v1/checkout", content=b"{not json", headers={**gateway.auth(), "Content-Type": "application/json"}
    )
    assert not_json.status_code == 400
    assert error_of(not_json)["status"] == "INVALID_ARGUMENT"


async def test_unknown_paths_answer_the_uniform_404(gateway: GatewayUnderTest) -> None:
    answer = await gateway.http.get("/v1/nothing-here", headers=gateway.auth())
    assert answer.status_code == 404
    assert error_of(answer)["status"] == "NOT_FOUND"


async def test_colon_custom_methods_route_to_their_operation(gateway: GatewayUnderTest) -> None:
    body = {"request_id": uuid.uuid4().hex}
    missing = await gateway.http.post("/v1/subscriptions/sub_404:cancel", json=body, headers=gateway.auth())
    assert missing.status_code == 404
    assert reason_of(error_of(missing)) == "SUBSCRIPTION_NOT_FOUND"
    get = await gateway.http.get("/v1/subscriptions/sub_404", headers=gateway.auth())
    assert get.status_code == 404


async def test_openapi_and_docs_are_served(gateway: GatewayUnderTest) -> None:
    spec = (await gateway.http.get("/openapi.json")).json()
    assert "/v1/subscriptions/{subscription_id}:cancel" in spec["paths"]
    assert "/v1/checkout" in spec["paths"]
    assert (await gateway.http.get("/docs")).status_code == 200


async def test_grpc_needs_a_key_and_answers_with_the_same_rules(gateway: GatewayUnderTest) -> None:
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as missing:
            await stub.ListEntitlements(gateway_pb2.ListEntitlementsRequest(customer_id="c1"))
        assert missing.value.code() == grpc.StatusCode.UNAUTHENTICATED
        viewer = await gateway.new_key("viewer")
        with pytest.raises(grpc.aio.AioRpcError) as denied:
            await stub.CancelSubscription(
                gateway_pb2.CancelSubscriptionRequest(subscription_id="s"),
                metadata=(("authorization", f"Bearer {viewer}"),),
            )
        assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
        answer = await stub.CheckAccess(
            gateway_pb2.CheckAccessRequest(customer_id="c1", feature_key="hd"),
            metadata=(("authorization", f"Bearer {viewer}"),),
        )
        assert answer.decision.allowed is False


async def test_root_admins_create_tenants_whose_keys_see_only_their_tenant(gateway: GatewayUnderTest) -> None:
    acme = {"tenant_id": "acme-video", "display_name": "Acme"}
    created = await gateway.http.post("/v1/tenants", json={**acme, "request_id": "new-acme"}, headers=gateway.auth())
    assert created.status_code == 200, created.text
    acme_key = created.json()["admin_secret"]
    assert acme_key.startswith("azk_sandbox_")
    again = await gateway.http.post("/v1/tenants", json={**acme, "request_id": "acme-again"}, headers=gateway.auth())
    assert again.status_code == 409
    other = {"request_id": "new-other", "tenant_id": "other-co", "display_name": "Other"}
    by_acme = await gateway.http.post("/v1/tenants", json=other, headers=gateway.auth(acme_key))
    assert by_acme.status_code == 403
    acme_keys = (await gateway.http.get("/v1/api-keys", headers=gateway.auth(acme_key))).json()["api_keys"]
    sandbox_keys = (await gateway.http.get("/v1/api-keys", headers=gateway.auth())).json()["api_keys"]
    assert {k["id"] for k in acme_keys}.isdisjoint({k["id"] for k in sandbox_keys})
    sandbox_key_id = sandbox_keys[0]["id"]
    foreign = await gateway.http.post(
        f"/v1/api-keys/{sandbox_key_id}:revoke", json={"request_id": uuid.uuid4().hex}, headers=gateway.auth(acme_key)
    )
    assert foreign.status_code == 404


async def test_exhausted_rate_limits_answer_429_with_retry_after(servers: Any, tmp_path: Path) -> None:
    async with running_gateway(servers, tmp_path, rate_limit_burst=3, rate_limit_per_second=0.2) as limited:
        answers = [await limited.http.get("/v1/customers/c1/entitlements", headers=limited.auth()) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert int(answers[-1].headers["Retry-After"]) >= 1
        assert error_of(answers[-1])["status"] == "RESOURCE_EXHAUSTED"
        async with grpc.aio.insecure_channel(limited.grpc_target) as channel:
            stub = gateway_pb2_grpc.GatewayServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.ListEntitlements(
                    gateway_pb2.ListEntitlementsRequest(customer_id="c1"),
                    metadata=(("authorization", f"Bearer {limited.admin_key}"),),
                )
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        trailers: dict[str, Any] = dict(refused.value.trailing_metadata() or ())  # type: ignore[arg-type]
        status = status_pb2.Status.FromString(trailers[DETAILS_KEY])
        assert any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)


async def test_a_repeated_key_creation_returns_the_same_key_without_its_secret(gateway: GatewayUnderTest) -> None:
    body = {"request_id": "create-ci-key", "display_name": "ci", "role": "viewer"}
    first = await gateway.http.post("/v1/api-keys", json=body, headers=gateway.auth())
    again = await gateway.http.post("/v1/api-keys", json=body, headers=gateway.auth())
    assert first.status_code == again.status_code == 200
    assert first.json()["api_key"]["id"] == again.json()["api_key"]["id"]
    assert first.json()["secret"].startswith("azk_sandbox_")
    assert again.json()["secret"] == ""
    other = await gateway.http.post("/v1/api-keys", json={**body, "role": "admin"}, headers=gateway.auth())
    assert other.status_code == 409
