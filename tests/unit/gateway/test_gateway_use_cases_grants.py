"""Entitlements by hand at the gateway: who may do what, what reaches entitlement, and access reflecting it at once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import grants_pb2 as gr
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.service_layer.gateway import Gateway
from azotte_gateway.service_layer.grants import MAX_GRANT_DAYS
from azotte_platform import context, convert
from azotte_platform.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied
from tests.unit.gateway.fakes import NOW, TENANT, FakeSuite, caller

CUSTOMER = "cus_1"
OTHER_TENANT = Tenant("other", "Other", TenantMode.SANDBOX)
END = convert.timestamp(NOW + timedelta(days=30))


class GrantingEntitlement:
    """Entitlement answering checks from the features granted and suspended through it; records requests."""

    def __init__(self) -> None:
        self.granted: set[tuple[str, str, str]] = set()
        self.suspended: set[tuple[str, str, str]] = set()
        self.requests: list[Any] = []
        self.writes = 0

    def _token(self) -> str:
        self.writes += 1
        return f"ct1.w{self.writes}"

    async def CheckAccess(self, request: ent.CheckAccessRequest) -> ent.CheckAccessResponse:
        self.requests.append(request)
        feature = (context.require_tenant(), request.customer_id, request.feature_key)
        allowed = feature in self.granted and feature not in self.suspended
        return ent.CheckAccessResponse(allowed=allowed, consistency_token="ct1.now")

    async def CreateManualGrant(self, request: ent.CreateManualGrantRequest) -> ent.CreateManualGrantResponse:
        self.requests.append(request)
        if request.reason == "bad window":
            raise InvalidArgument("invalid", [FieldViolation("valid_until", "must be after valid_from")])
        grants = [
            ent.Grant(
                grant_id=f"g_{key}", customer_id=request.customer_id, feature_key=key, valid_until=request.valid_until
            )
            for key in request.feature_keys
        ]
        for key in request.feature_keys:
            self.granted.add((context.require_tenant(), request.customer_id, key))
        return ent.CreateManualGrantResponse(grant=grants[0], grants=grants, consistency_token=self._token())

    async def RevokeGrant(self, request: ent.RevokeGrantRequest) -> ent.RevokeGrantResponse:
        self.requests.append(request)
        feature_key = request.grant_id.removeprefix("g_")
        self.granted.discard((context.require_tenant(), request.customer_id, feature_key))
        grant = ent.Grant(grant_id=request.grant_id, customer_id=request.customer_id, feature_key=feature_key)
        return ent.RevokeGrantResponse(grant=grant, consistency_token=self._token())

    async def ListGrants(self, request: ent.ListGrantsRequest) -> ent.ListGrantsResponse:
        self.requests.append(request)
        return ent.ListGrantsResponse(
            grants=[
                ent.Grant(
                    grant_id="g_sub",
                    customer_id=request.customer_id,
                    feature_key="hd",
                    source=ent.GrantSourceRef(source=ent.GRANT_SOURCE_SUBSCRIPTION, source_ref="sub_1"),
                ),
                ent.Grant(
                    grant_id="g_4k",
                    customer_id=request.customer_id,
                    feature_key="4k",
                    source=ent.GrantSourceRef(source=ent.GRANT_SOURCE_MANUAL, source_ref="req_1"),
                    audit=ent.GrantAudit(actor="api_key:key_test", reason="case 42"),
                ),
            ],
            next_page_token="next",
        )

    async def SuspendFeature(self, request: ent.SuspendFeatureRequest) -> ent.SuspendFeatureResponse:
        self.requests.append(request)
        self.suspended.add((context.require_tenant(), request.customer_id, request.feature_key))
        suspension = ent.FeatureSuspension(
            customer_id=request.customer_id, feature_key=request.feature_key, reason=request.reason
        )
        return ent.SuspendFeatureResponse(suspension=suspension, consistency_token=self._token())

    async def RestoreFeature(self, request: ent.RestoreFeatureRequest) -> ent.RestoreFeatureResponse:
        self.requests.append(request)
        self.suspended.discard((context.require_tenant(), request.customer_id, request.feature_key))
        suspension = ent.FeatureSuspension(customer_id=request.customer_id, feature_key=request.feature_key)
        return ent.RestoreFeatureResponse(suspension=suspension, consistency_token=self._token())

    async def ReconcileDrift(self, request: ent.ReconcileDriftRequest) -> ent.ReconcileDriftResponse:
        self.requests.append(request)
        missing = ent.Grant(grant_id="g_hd", customer_id=CUSTOMER, feature_key="hd")
        return ent.ReconcileDriftResponse(
            report=ent.DriftReport(granted_count=1, checked_customer_count=1),
            corrections=[ent.DriftCorrection(kind=ent.DRIFT_CORRECTION_KIND_GRANT, grant=missing)],
            consistency_token="" if request.validate_only else self._token(),
        )


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.entitlement = GrantingEntitlement()  # type: ignore[assignment]
    suite.lifecycle.add_customer(CUSTOMER)
    suite.lifecycle.add_customer("cus_elsewhere", OTHER_TENANT.id)
    return suite


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


def entitlement(suite: FakeSuite) -> GrantingEntitlement:
    assert isinstance(suite.entitlement, GrantingEntitlement)
    return suite.entitlement


def comp(request_id: str = "req_1", **fields: Any) -> gr.CreateGrantRequest:
    values: dict[str, Any] = {
        "request_id": request_id,
        "customer_id": CUSTOMER,
        "feature_keys": ["4k"],
        "end_time": END,
        "reason": "support case 42",
    }
    return gr.CreateGrantRequest(**{**values, **fields})


async def check(gateway: Gateway, role: Role = Role.ADMIN, token: str = "") -> gw.CheckAccessResponse:
    who = caller(role)
    with who.scope():
        request = gw.CheckAccessRequest(customer_id=CUSTOMER, feature_key="4k", consistency_token=token)
        return await gateway.access.check_access(who, request)


async def call(
    operation: Callable[[Any, Any], Awaitable[Any]], role: Role, request: Any, tenant: Tenant = TENANT
) -> Any:
    who = caller(role, tenant)
    with who.scope():
        return await operation(who, request)


async def test_a_comp_gives_access_to_the_granting_key_at_once_and_drops_the_cached_answer(
    suite: FakeSuite, gateway: Gateway
) -> None:
    assert not (await check(gateway)).decision.allowed  # cached: denied
    created = await call(gateway.grants.create_grant, Role.OPERATOR, comp())
    forwarded = entitlement(suite).requests[-1]

    assert [g.feature_key for g in created.grants] == ["4k"] and created.consistency_token == "ct1.w1"
    assert (forwarded.valid_until, forwarded.reason) == (END, "support case 42")
    # the granting key's next check names its write; any key's check misses the dropped cache entry
    assert (await check(gateway, Role.OPERATOR)).decision.allowed
    assert entitlement(suite).requests[-1].consistency_token == "ct1.w1"
    assert (await check(gateway, Role.VIEWER)).decision.allowed


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"end_time": None}, "end_time"),
        ({"end_time": convert.timestamp(NOW - timedelta(minutes=1))}, "end_time"),
        ({"end_time": convert.timestamp(NOW + timedelta(days=MAX_GRANT_DAYS, seconds=1))}, "end_time"),
        (
            {"start_time": convert.timestamp(NOW + timedelta(days=40)), "end_time": END},
            "end_time",
        ),
        ({"reason": ""}, "reason"),
        ({"request_id": ""}, "request_id"),
        ({"customer_id": ""}, "customer_id"),
    ],
)
async def test_a_comp_needs_a_reason_and_an_end_within_a_year(
    suite: FakeSuite, gateway: Gateway, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await call(gateway.grants.create_grant, Role.OPERATOR, comp(**fields))
    assert [v.field for v in refused.value.violations] == [field]
    assert not entitlement(suite).requests


async def test_entitlements_window_errors_name_the_public_fields(suite: FakeSuite, gateway: Gateway) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await call(gateway.grants.create_grant, Role.OPERATOR, comp(reason="bad window"))
    assert entitlement(suite).requests  # refused by entitlement, not by the gateway
    assert [v.field for v in refused.value.violations] == ["end_time"]


async def test_revoke_suspend_and_restore_change_access_for_the_caller_at_once(
    suite: FakeSuite, gateway: Gateway
) -> None:
    await call(gateway.grants.create_grant, Role.OPERATOR, comp())
    assert (await check(gateway, Role.MANAGER)).decision.allowed

    suspended = await call(
        gateway.grants.suspend_feature,
        Role.MANAGER,
        gr.SuspendFeatureRequest(request_id="s1", customer_id=CUSTOMER, feature_key="4k", reason="abuse"),
    )
    denied = await check(gateway, Role.MANAGER)
    assert (suspended.suspension.reason, suspended.consistency_token) == ("abuse", "ct1.w2")
    assert entitlement(suite).requests[-1].consistency_token == "ct1.w2"
    assert not denied.decision.allowed

    await call(
        gateway.grants.restore_feature,
        Role.MANAGER,
        gr.RestoreFeatureRequest(request_id="r1", customer_id=CUSTOMER, feature_key="4k"),
    )
    assert (await check(gateway, Role.MANAGER)).decision.allowed

    revoked = await call(
        gateway.grants.revoke_grant,
        Role.OPERATOR,
        gr.RevokeGrantRequest(request_id="v1", customer_id=CUSTOMER, grant_id="g_4k", reason="case closed"),
    )
    assert revoked.grant.grant_id == "g_4k" and entitlement(suite).requests[-1].customer_id == CUSTOMER
    assert not (await check(gateway, Role.OPERATOR)).decision.allowed


async def test_list_grants_forwards_filter_and_order_and_names_sources(suite: FakeSuite, gateway: Gateway) -> None:
    request = gr.ListGrantsRequest(customer_id=CUSTOMER, filter='source = "manual"', order_by="valid_until desc")
    listed = await call(gateway.grants.list_grants, Role.VIEWER, request)
    forwarded = entitlement(suite).requests[-1]

    assert (forwarded.filter, forwarded.order_by) == ('source = "manual"', "valid_until desc")
    assert [(g.feature_key, g.source) for g in listed.grants] == [
        ("hd", gw.ACCESS_SOURCE_KIND_SUBSCRIPTION),
        ("4k", gw.ACCESS_SOURCE_KIND_MANUAL),
    ]
    assert listed.grants[1].audit.reason == "case 42" and listed.next_page_token == "next"


async def test_reconcile_reports_what_it_found_and_whether_it_fixed_it(gateway: Gateway) -> None:
    fixed = await call(
        gateway.grants.reconcile_grants, Role.OPERATOR, gr.ReconcileGrantsRequest(request_id="x1", customer_id=CUSTOMER)
    )
    dry = await call(
        gateway.grants.reconcile_grants,
        Role.ADMIN,
        gr.ReconcileGrantsRequest(request_id="x2", validate_only=True),
    )
    assert (fixed.granted_count, fixed.checked_customer_count, fixed.corrected) == (1, 1, True)
    assert [(c.kind, c.grant.feature_key) for c in fixed.corrections] == [(gr.GRANT_CORRECTION_KIND_GRANTED, "hd")]
    assert (dry.granted_count, dry.corrected, dry.consistency_token) == (1, False, "")


OPERATIONS: dict[str, tuple[Callable[[Gateway], Any], Any, Role]] = {
    # operation, a valid request, the least role allowed
    "list": (lambda g: g.grants.list_grants, gr.ListGrantsRequest(customer_id=CUSTOMER), Role.VIEWER),
    "create": (lambda g: g.grants.create_grant, comp(), Role.OPERATOR),
    "revoke": (
        lambda g: g.grants.revoke_grant,
        gr.RevokeGrantRequest(request_id="v", customer_id=CUSTOMER, grant_id="g_4k", reason="r"),
        Role.OPERATOR,
    ),
    "reconcile customer": (
        lambda g: g.grants.reconcile_grants,
        gr.ReconcileGrantsRequest(request_id="x", customer_id=CUSTOMER),
        Role.OPERATOR,
    ),
    "suspend": (
        lambda g: g.grants.suspend_feature,
        gr.SuspendFeatureRequest(request_id="s", customer_id=CUSTOMER, feature_key="4k", reason="abuse"),
        Role.MANAGER,
    ),
    "restore": (
        lambda g: g.grants.restore_feature,
        gr.RestoreFeatureRequest(request_id="r", customer_id=CUSTOMER, feature_key="4k"),
        Role.MANAGER,
    ),
    "reconcile tenant": (lambda g: g.grants.reconcile_grants, gr.ReconcileGrantsRequest(request_id="x"), Role.ADMIN),
}
RANKS = [Role.PUBLISHABLE, Role.VIEWER, Role.OPERATOR, Role.MANAGER, Role.ADMIN]


@pytest.mark.parametrize("name", OPERATIONS)
@pytest.mark.parametrize("role", RANKS)
async def test_role_matrix(suite: FakeSuite, gateway: Gateway, name: str, role: Role) -> None:
    select, request, least = OPERATIONS[name]
    if RANKS.index(role) >= RANKS.index(least):
        await call(select(gateway), role, request)
    else:
        with pytest.raises(PermissionDenied):
            await call(select(gateway), role, request)
        assert not entitlement(suite).requests


@pytest.mark.parametrize("name", [n for n in OPERATIONS if n != "reconcile tenant"])
async def test_another_tenants_customer_is_not_found(suite: FakeSuite, gateway: Gateway, name: str) -> None:
    select, request, _ = OPERATIONS[name]
    with pytest.raises(NotFound):
        await call(select(gateway), Role.ADMIN, request, OTHER_TENANT)
    assert not entitlement(suite).requests
