"""What an outside probe found, replayed against the real suite: publishable keys changing customers,
foreign customers answering 200, reflection showing internal services, a repeated authorization and
unbounded batches."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc
from azotte_gateway.entrypoints.servicer import PUBLIC_SERVICES as SERVED
from tests.e2e.conftest import RunningSuite, TenantApi

PUBLIC_SERVICES = {service.descriptor.full_name for service in SERVED} | {health.SERVICE_NAME, reflection.SERVICE_NAME}


def bearer(key: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {key}"),)


async def test_a_publishable_key_registers_nobody_and_stores_no_card_outside_its_checkout(tenant: TenantApi) -> None:
    customer = await tenant.customer()
    publishable = await tenant.new_key("publishable")
    register = await tenant.call(
        "POST", "/v1/customers", key=publishable, json={"request_id": uuid.uuid4().hex, "external_id": "x"}
    )
    assert register.status_code == 403 and "create_customer" in register.text
    card = await tenant.call(
        "POST",
        f"/v1/customers/{customer}/payment-methods",
        key=publishable,
        json={"request_id": uuid.uuid4().hex, "payment_method_token": "tok_success"},
    )
    assert card.status_code == 403 and "manage_payment_methods" in card.text
    bought = await tenant.checkout(customer, key=publishable)
    assert bought.status_code == 200, bought.text
    operator = await tenant.new_key("operator")
    stored = await tenant.call(
        "POST",
        f"/v1/customers/{customer}/payment-methods",
        key=operator,
        json={"request_id": uuid.uuid4().hex, "payment_method_token": "tok_success"},
    )
    assert stored.status_code == 200, stored.text


async def test_foreign_and_unknown_customers_answer_not_found(suite: RunningSuite, tenant: TenantApi) -> None:
    customer = await tenant.customer()
    assert (await tenant.checkout(customer, plan="family_monthly")).status_code == 200
    other = await suite.new_tenant(with_catalog=False)
    reads = ["subscriptions", "charges", "entitlements", "access/hd_streaming"]
    for read in reads:
        assert (await tenant.call("GET", f"/v1/customers/{customer}/{read}")).status_code == 200, read
        for who, whom in ((other, customer), (tenant, f"cus_{uuid.uuid4().hex[:12]}")):
            answer = await who.call("GET", f"/v1/customers/{whom}/{read}")
            assert answer.status_code == 404, (read, answer.text)
            assert answer.json()["error"]["status"] == "NOT_FOUND"
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        batch = gw.BatchCheckAccessRequest(customer_id=customer, feature_keys=["hd_streaming"])
        assert (await stub.BatchCheckAccess(batch, metadata=bearer(tenant.key))).decisions[0].allowed
        with pytest.raises(grpc.aio.AioRpcError) as foreign:
            await stub.BatchCheckAccess(batch, metadata=bearer(other.key))
        assert foreign.value.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_on_the_gateway_port_shows_only_the_public_services(suite: RunningSuite) -> None:
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        requests = [reflection_pb2.ServerReflectionRequest(list_services="")] + [
            reflection_pb2.ServerReflectionRequest(file_containing_symbol=name)
            for name in [*sorted(PUBLIC_SERVICES), "azotte.lifecycle.v1.LifecycleService"]
        ]
        listed, *described, lifecycle = [answer async for answer in stub.ServerReflectionInfo(iter(requests))]
    assert {s.name for s in listed.list_services_response.service} == PUBLIC_SERVICES
    shown: set[str] = set()
    for answer in described:
        for raw in answer.file_descriptor_response.file_descriptor_proto:
            file = descriptor_pb2.FileDescriptorProto.FromString(raw)
            shown |= {f"{file.package}.{s.name}" for s in file.service}
    assert shown == PUBLIC_SERVICES
    assert lifecycle.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]


async def test_two_authorizations_and_oversized_batches_are_refused(suite: RunningSuite, tenant: TenantApi) -> None:
    customer = await tenant.customer()
    publishable = await tenant.new_key("publishable")
    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        check = gw.CheckAccessRequest(customer_id=customer, feature_key="hd_streaming")
        with pytest.raises(grpc.aio.AioRpcError) as twice:
            await stub.CheckAccess(check, metadata=bearer(publishable) + bearer(tenant.key))
        assert twice.value.code() == grpc.StatusCode.UNAUTHENTICATED
        many = gw.BatchCheckAccessRequest(customer_id=customer, feature_keys=[f"f{i}" for i in range(50_000)])
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.BatchCheckAccess(many, metadata=bearer(publishable))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "feature_keys" in (refused.value.details() or "")
