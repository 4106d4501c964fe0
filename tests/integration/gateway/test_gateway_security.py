"""What an outside probe found: publishable keys changing customers, foreign customers answering 200,
reflection showing internal services, a repeated authorization, unbounded batches."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_gateway.entrypoints.main import register
from azotte_gateway.service_layer.access import MAX_BATCH_FEATURE_KEYS
from azotte_gateway.service_layer.admin import SANDBOX_TENANT_ID
from azotte_platform.grpc.server import enable_reflection
from tests.integration.gateway.conftest import REGISTERED_CUSTOMER, GatewayUnderTest

ROLES = ["publishable", "viewer", "operator", "manager", "admin"]
MAY_CHANGE_CUSTOMERS = {"operator", "manager", "admin"}


def rid() -> str:
    return uuid.uuid4().hex


def metadata(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


def reason_of(answer: Any) -> str:
    details = answer.json()["error"]["details"]
    return str(next(d["reason"] for d in details if d["@type"].endswith("ErrorInfo")))


# --- publishable keys change no customer ----------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
async def test_only_operators_and_above_register_customers_and_store_cards_over_rest(
    gateway: GatewayUnderTest, role: str
) -> None:
    key = await gateway.new_key(role)
    customer = await gateway.http.post(
        "/v1/customers", json={"request_id": rid(), "external_id": f"ext-{role}"}, headers=gateway.auth(key)
    )
    card = await gateway.http.post(
        f"/v1/customers/{REGISTERED_CUSTOMER}/payment-methods",
        json={"request_id": rid(), "payment_method_token": "tok_success"},
        headers=gateway.auth(key),
    )
    if role in MAY_CHANGE_CUSTOMERS:
        assert customer.status_code == 200, customer.text
        assert card.status_code == 200, card.text
    else:
        assert customer.status_code == 403, customer.text
        assert "create_customer" in customer.json()["error"]["message"]
        assert card.status_code == 403, card.text
        assert "manage_payment_methods" in card.json()["error"]["message"]


@pytest.mark.parametrize("role", ROLES)
async def test_only_operators_and_above_register_customers_and_store_cards_over_grpc(
    gateway: GatewayUnderTest, role: str
) -> None:
    key = await gateway.new_key(role)
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        calls: list[Any] = [
            stub.CreateCustomer(gw.CreateCustomerRequest(request_id=rid(), external_id="e"), metadata=metadata(key)),
            stub.CreatePaymentMethod(
                gw.CreatePaymentMethodRequest(
                    request_id=rid(), customer_id=REGISTERED_CUSTOMER, payment_method_token="tok_success"
                ),
                metadata=metadata(key),
            ),
        ]
        for call in calls:
            if role in MAY_CHANGE_CUSTOMERS:
                await call
            else:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call
                assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_publishable_key_still_attaches_a_card_inside_its_own_checkout(gateway: GatewayUnderTest) -> None:
    key = await gateway.new_key("publishable")
    body = {
        "request_id": rid(),
        "customer_id": f"cus_{rid()[:8]}",
        "storefront_id": "us",
        "plan_id": "basic",
        "channel": "web",
        "payment_method_token": "tok_success",
    }
    answer = await gateway.http.post("/v1/checkout", json=body, headers=gateway.auth(key))
    assert answer.status_code == 200, answer.text
    assert answer.json()["charge"]["state"] == "CHARGE_STATE_SUCCEEDED"


# --- another tenant's customer, or an unknown one, is NOT_FOUND --------------------------------------

REST_CUSTOMER_READS = [
    "/v1/customers/{customer}/subscriptions",
    "/v1/customers/{customer}/charges",
    "/v1/customers/{customer}/entitlements",
    "/v1/customers/{customer}/access/hd",
]


async def other_tenant_key(gateway: GatewayUnderTest) -> str:
    body = {"request_id": rid(), "tenant_id": f"other-{rid()[:8]}", "display_name": "Other"}
    created = await gateway.http.post("/v1/tenants", json=body, headers=gateway.auth())
    assert created.status_code == 200, created.text
    return str(created.json()["admin_secret"])


@pytest.mark.parametrize("path", REST_CUSTOMER_READS)
async def test_customer_reads_answer_404_for_a_foreign_or_unknown_customer_over_rest(
    gateway: GatewayUnderTest, path: str
) -> None:
    own = await gateway.http.get(path.format(customer=REGISTERED_CUSTOMER), headers=gateway.auth())
    assert own.status_code == 200, own.text
    foreign = await gateway.http.get(
        path.format(customer=REGISTERED_CUSTOMER), headers=gateway.auth(await other_tenant_key(gateway))
    )
    unknown = await gateway.http.get(path.format(customer="cus_nobody"), headers=gateway.auth())
    for answer in (foreign, unknown):
        assert answer.status_code == 404, answer.text
        assert answer.json()["error"]["status"] == "NOT_FOUND"
        assert reason_of(answer) == "CUSTOMER_NOT_FOUND"


async def test_customer_reads_answer_not_found_for_a_foreign_or_unknown_customer_over_grpc(
    gateway: GatewayUnderTest,
) -> None:
    other = await other_tenant_key(gateway)
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)

        def reads(customer: str) -> list[Any]:
            return [
                (stub.ListSubscriptions, gw.ListSubscriptionsRequest(customer_id=customer)),
                (stub.ListCharges, gw.ListChargesRequest(customer_id=customer)),
                (stub.ListEntitlements, gw.ListEntitlementsRequest(customer_id=customer)),
                (stub.CheckAccess, gw.CheckAccessRequest(customer_id=customer, feature_key="hd")),
                (stub.BatchCheckAccess, gw.BatchCheckAccessRequest(customer_id=customer, feature_keys=["hd"])),
            ]

        for method, request in reads(REGISTERED_CUSTOMER):
            await method(request, metadata=metadata(gateway.admin_key))
        for key, customer in ((other, REGISTERED_CUSTOMER), (gateway.admin_key, "cus_nobody")):
            for method, request in reads(customer):
                with pytest.raises(grpc.aio.AioRpcError) as missing:
                    await method(request, metadata=metadata(key))
                assert missing.value.code() == grpc.StatusCode.NOT_FOUND, request


async def test_a_known_customer_is_verified_once_so_access_checks_stay_at_the_edge(gateway: GatewayUnderTest) -> None:
    customer = f"cus_{rid()[:8]}"
    gateway.world.customers.add((SANDBOX_TENANT_ID, customer))
    reads_before = gateway.world.customer_reads
    for _ in range(5):
        answer = await gateway.http.get(f"/v1/customers/{customer}/access/hd", headers=gateway.auth())
        assert answer.status_code == 200, answer.text
    assert gateway.world.customer_reads - reads_before == 1


async def test_a_customer_registered_after_a_miss_is_found_at_once(gateway: GatewayUnderTest) -> None:
    customer = f"cus_{rid()[:8]}"
    path = f"/v1/customers/{customer}/entitlements"
    assert (await gateway.http.get(path, headers=gateway.auth())).status_code == 404
    gateway.world.customers.add((SANDBOX_TENANT_ID, customer))
    assert (await gateway.http.get(path, headers=gateway.auth())).status_code == 200


# --- one authorization per call -------------------------------------------------------------------


async def test_two_authorization_entries_on_a_grpc_call_are_unauthenticated(gateway: GatewayUnderTest) -> None:
    viewer = await gateway.new_key("viewer")
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        request = gw.CheckAccessRequest(customer_id=REGISTERED_CUSTOMER, feature_key="hd")
        for twice in [(viewer, gateway.admin_key), (gateway.admin_key, gateway.admin_key)]:
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await stub.CheckAccess(request, metadata=metadata(twice[0]) + metadata(twice[1]))
            assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
            assert "authorization" in (refused.value.details() or "")


async def test_two_authorization_headers_on_a_rest_call_answer_401(gateway: GatewayUnderTest) -> None:
    headers = [("Authorization", f"Bearer {gateway.admin_key}")] * 2
    answer = await gateway.http.get(f"/v1/customers/{REGISTERED_CUSTOMER}/entitlements", headers=headers)
    assert answer.status_code == 401, answer.text
    assert reason_of(answer) == "AUTHORIZATION_REPEATED"


# --- batches are bounded --------------------------------------------------------------------------


async def test_batch_check_access_takes_at_most_the_cap_of_feature_keys(gateway: GatewayUnderTest) -> None:
    key = await gateway.new_key("publishable")
    async with grpc.aio.insecure_channel(gateway.grpc_target) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        keys = [f"f{i}" for i in range(MAX_BATCH_FEATURE_KEYS)]
        full = await stub.BatchCheckAccess(
            gw.BatchCheckAccessRequest(customer_id=REGISTERED_CUSTOMER, feature_keys=keys), metadata=metadata(key)
        )
        assert [d.feature_key for d in full.decisions] == keys
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.BatchCheckAccess(
                gw.BatchCheckAccessRequest(customer_id=REGISTERED_CUSTOMER, feature_keys=[*keys, "one_more"]),
                metadata=metadata(key),
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "feature_keys" in (refused.value.details() or "")


# --- reflection shows what the port serves --------------------------------------------------------


async def test_reflection_on_the_gateway_port_lists_and_describes_only_its_services(gateway: GatewayUnderTest) -> None:
    server = grpc.aio.server()
    served = register(gateway.areas, server)
    health_pb2_grpc.add_HealthServicer_to_server(health.aio.HealthServicer(), server)  # type: ignore[attr-defined]
    enable_reflection([*served, health.SERVICE_NAME], server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    public = {*served, health.SERVICE_NAME, reflection.SERVICE_NAME}
    assert {"azotte.gateway.v1.GatewayService", "azotte.gateway.v1.TenantAdminService"} <= public
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            answers = await _reflect(
                channel,
                [reflection_pb2.ServerReflectionRequest(list_services="")]
                + [reflection_pb2.ServerReflectionRequest(file_containing_symbol=name) for name in sorted(public)]
                + [
                    reflection_pb2.ServerReflectionRequest(
                        file_containing_symbol="azotte.lifecycle.v1.LifecycleService"
                    ),
                    reflection_pb2.ServerReflectionRequest(file_containing_symbol="azotte.catalog.v1.CatalogService"),
                ],
            )
    finally:
        await server.stop(None)
    listed, *described, lifecycle, catalog = answers
    assert {s.name for s in listed.list_services_response.service} == public
    described_services = set()
    for answer in described:
        for raw in answer.file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
            described_services |= {f"{file.package}.{s.name}" for s in file.service}
    assert described_services == public, "no file shown carries an internal service"
    assert lifecycle.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert catalog.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def _reflect(
    channel: grpc.aio.Channel, requests: list[reflection_pb2.ServerReflectionRequest]
) -> list[reflection_pb2.ServerReflectionResponse]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = stub.ServerReflectionInfo(iter(requests))
    return [answer async for answer in call]
