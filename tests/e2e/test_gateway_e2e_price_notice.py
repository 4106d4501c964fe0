"""A storefront's notice period and consent rule for price increases, set through the gateway (REST and gRPC)."""

from __future__ import annotations

import uuid

import grpc
import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte.gateway.v1 import catalog_admin_pb2_grpc, gateway_pb2_grpc
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_platform.errors import InvalidArgument
from azotte_platform.grpc.status import from_rpc_error
from tests.e2e.conftest import RunningSuite


def rid() -> str:
    return uuid.uuid4().hex


async def test_a_manager_sets_the_notice_and_consent_a_storefront_gives_before_a_rise(suite: RunningSuite) -> None:
    shop = await suite.new_tenant()
    manager = await shop.new_key("manager")
    body = {
        "request_id": rid(),
        "storefront": {"price_increase_notice_days": 30, "price_increase_consent_required": True},
        "update_mask": "price_increase_notice_days,price_increase_consent_required",
    }
    changed = await shop.call("PATCH", "/v1/storefronts/us", json=body, key=manager)
    assert changed.status_code == 200, changed.text
    assert (await shop.ok("GET", "/v1/storefronts/us"))["storefront"]["price_increase_notice_days"] == 30

    async with grpc.aio.insecure_channel(suite.suite.address("gateway")) as channel:
        auth = (("authorization", f"Bearer {manager}"),)
        read = await gateway_pb2_grpc.GatewayServiceStub(channel).GetStorefront(
            gw.GetStorefrontRequest(storefront_id="us"), metadata=auth
        )
        assert (read.storefront.price_increase_notice_days, read.storefront.price_increase_consent_required) == (
            30,
            True,
        )
        no_notice = ca.UpdateStorefrontRequest(
            request_id=rid(), storefront=cat.Storefront(id="us", price_increase_notice_days=0)
        )
        no_notice.update_mask.paths.append("price_increase_notice_days")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await catalog_admin_pb2_grpc.CatalogAdminServiceStub(channel).UpdateStorefront(no_notice, metadata=auth)
    error = from_rpc_error(refused.value)
    assert isinstance(error, InvalidArgument)
    assert [v.field for v in error.violations] == ["storefront.price_increase_consent_required"]
