"""The request-id policy: a mutating call carries the caller's request id, passed on as is; none is invented."""

from __future__ import annotations

import pytest

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.domain.permissions import Role
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument, PermissionDenied
from tests.unit.gateway.fakes import FakeSuite, caller


class RecordingCatalog:
    """A catalog that keeps the ApplyCatalog requests it received."""

    def __init__(self) -> None:
        self.applied: list[cat.ApplyCatalogRequest] = []

    async def ApplyCatalog(self, request: cat.ApplyCatalogRequest) -> cat.ApplyCatalogResponse:
        self.applied.append(request)
        return cat.ApplyCatalogResponse(applied=not request.validate_only)


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


async def test_a_mutation_without_a_request_id_is_invalid_argument_naming_it(gateway: Gateway) -> None:
    who = caller()
    with who.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.admin.create_api_key(who, ta.CreateApiKeyRequest(display_name="k", role=ta.API_KEY_ROLE_VIEWER))
    assert [v.field for v in refused.value.violations] == ["request_id"]


async def test_the_role_is_checked_before_the_request(gateway: Gateway) -> None:
    who = caller(Role.VIEWER)
    with who.scope(), pytest.raises(PermissionDenied):
        await gateway.subscriptions.cancel_subscription(who, gw.CancelSubscriptionRequest(subscription_id="sub_1"))


async def test_the_callers_request_id_reaches_the_service_and_a_dry_run_needs_none(suite: FakeSuite) -> None:
    recording = RecordingCatalog()
    suite.catalog = recording  # type: ignore[assignment]
    gateway = suite.gateway()
    who = caller()
    with who.scope():
        await gateway.catalog.apply_catalog(who, gw.ApplyCatalogRequest(document="version: 1", validate_only=True))
        await gateway.catalog.apply_catalog(who, gw.ApplyCatalogRequest(request_id="apply-1", document="version: 1"))
        with pytest.raises(InvalidArgument):
            await gateway.catalog.apply_catalog(who, gw.ApplyCatalogRequest(document="version: 1"))
    assert [(r.request_id, r.validate_only) for r in recording.applied] == [("", True), ("apply-1", False)]
