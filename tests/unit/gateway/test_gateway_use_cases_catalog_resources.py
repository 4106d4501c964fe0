"""The catalog area one resource at a time, and the list conventions of the catalog and API-key lists."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, cast

import pytest
from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2 as cat
from azotte.gateway.v1 import catalog_admin_pb2 as ca
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte_gateway.domain.permissions import Permission, Role, is_allowed
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.catalog import Catalog
from azotte_gateway.service_layer.catalog_reads import CatalogReads
from azotte_platform.context import require_tenant
from azotte_platform.errors import InvalidArgument, NotFound, PermissionDenied
from tests.unit.gateway.fakes import TENANT, FakeSuite, caller

OTHER = Tenant("other-video", "Other Video", TenantMode.SANDBOX)


class RecordingCatalog:
    """The catalog service: plans per tenant (the tenant of the request context), every call recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Message]] = []
        self.plans: dict[tuple[str, str], cat.Plan] = {}

    def __getattr__(self, name: str) -> Callable[[Message], Awaitable[Message]]:
        async def call(request: Message) -> Message:
            self.calls.append((name, request))
            return cast(Message, getattr(cat, f"{name}Response")())

        return call

    async def CreatePlan(self, request: cat.CreatePlanRequest) -> cat.CreatePlanResponse:
        self.calls.append(("CreatePlan", request))
        if not request.plan.id:
            raise InvalidArgument.field("plan.id", "is required")
        self.plans[(require_tenant(), request.plan.id)] = request.plan
        return cat.CreatePlanResponse(plan=request.plan)

    async def ActivatePlan(self, request: cat.ActivatePlanRequest) -> cat.ActivatePlanResponse:
        self.calls.append(("ActivatePlan", request))
        plan = self.plans.get((require_tenant(), request.id))
        if plan is None:
            raise NotFound(f"plan {request.id!r} not found")
        if plan.state == cat.PLAN_STATE_RETIRED:
            raise InvalidArgument.field("id", "a retired plan cannot be sold again")
        plan.state = cat.PLAN_STATE_ACTIVE
        return cat.ActivatePlanResponse(plan=plan)


@dataclasses.dataclass(frozen=True)
class Peers_:
    catalog: RecordingCatalog


@pytest.fixture
def fake() -> RecordingCatalog:
    return RecordingCatalog()


@pytest.fixture
def area(fake: RecordingCatalog) -> Catalog:
    peers = cast(Peers, Peers_(fake))
    return Catalog(peers, CatalogReads(peers, ttl_seconds=60))


PLAN = cat.Plan(id="family", display_name="Family", family="ott", rank=3)
STOREFRONT = cat.Storefront(id="de")
FEATURE = cat.Feature(key="hd")
OPERATIONS: list[tuple[str, Message, Permission]] = [
    (
        "create_storefront",
        ca.CreateStorefrontRequest(request_id="r", storefront=STOREFRONT),
        Permission.MANAGE_STOREFRONTS,
    ),
    (
        "update_storefront",
        ca.UpdateStorefrontRequest(request_id="r", storefront=STOREFRONT),
        Permission.MANAGE_STOREFRONTS,
    ),
    ("get_feature", ca.GetFeatureRequest(feature_key="hd"), Permission.READ_CATALOG),
    ("list_features", ca.ListFeaturesRequest(), Permission.READ_CATALOG),
    (
        "create_feature",
        ca.CreateFeatureRequest(request_id="r", feature=FEATURE),
        Permission.MANAGE_FEATURES,
    ),
    (
        "update_feature",
        ca.UpdateFeatureRequest(request_id="r", feature=FEATURE),
        Permission.MANAGE_FEATURES,
    ),
    ("create_plan", ca.CreatePlanRequest(request_id="r", plan=PLAN), Permission.MANAGE_PLANS),
    ("update_plan", ca.UpdatePlanRequest(request_id="r", plan=PLAN), Permission.MANAGE_PLANS),
    ("retire_plan", ca.RetirePlanRequest(request_id="r", plan_id="family"), Permission.MANAGE_PLANS),
    (
        "schedule_price",
        ca.SchedulePriceRequest(request_id="r", plan_id="family", storefront_id="de", amount_minor=999),
        Permission.SCHEDULE_PRICES,
    ),
    ("cancel_price", ca.CancelPriceRequest(request_id="r", price_id="family.de.default.x"), Permission.SCHEDULE_PRICES),
    (
        "create_channel_mapping",
        ca.CreateChannelMappingRequest(request_id="r", channel_mapping=cat.ChannelMapping(plan_id="family")),
        Permission.MANAGE_CHANNEL_MAPPINGS,
    ),
    ("list_channel_mappings", ca.ListChannelMappingsRequest(), Permission.READ_CATALOG),
]


@pytest.mark.parametrize(("operation", "request_", "permission"), OPERATIONS, ids=[o[0] for o in OPERATIONS])
@pytest.mark.parametrize("role", list(Role))
async def test_each_operation_needs_its_permission_before_the_catalog_is_called(
    area: Catalog, fake: RecordingCatalog, operation: str, request_: Message, permission: Permission, role: Role
) -> None:
    who = caller(role)
    method: Callable[[Any, Any], Awaitable[Message]] = getattr(area, operation)
    with who.scope():
        if is_allowed(role, permission):
            await method(who, request_)
            assert len(fake.calls) == 1
        else:
            with pytest.raises(PermissionDenied) as refused:
                await method(who, request_)
            assert refused.value.metadata["permission"] == permission.value
            assert fake.calls == []


def test_managers_and_admins_change_the_catalog_operators_and_below_do_not() -> None:
    writes = {Permission.MANAGE_STOREFRONTS, Permission.MANAGE_FEATURES, Permission.MANAGE_PLANS}
    writes |= {Permission.SCHEDULE_PRICES, Permission.MANAGE_CHANNEL_MAPPINGS}
    for permission in writes:
        assert [r for r in Role if is_allowed(r, permission)] == [Role.ADMIN, Role.MANAGER]


@pytest.mark.parametrize(
    ("operation", "request_", "field"),
    [
        ("create_plan", ca.CreatePlanRequest(plan=PLAN), "request_id"),
        ("create_plan", ca.CreatePlanRequest(request_id="r"), "plan"),
        ("update_plan", ca.UpdatePlanRequest(request_id="r", plan=cat.Plan(display_name="x")), "plan.id"),
        ("activate_plan", ca.ActivatePlanRequest(request_id="r"), "plan_id"),
        ("schedule_price", ca.SchedulePriceRequest(request_id="r", plan_id="family"), "storefront_id"),
        ("update_feature", ca.UpdateFeatureRequest(request_id="r"), "feature.key"),
        ("update_storefront", ca.UpdateStorefrontRequest(request_id="r"), "storefront.id"),
        ("create_channel_mapping", ca.CreateChannelMappingRequest(request_id="r"), "channel_mapping"),
        ("cancel_price", ca.CancelPriceRequest(request_id="r"), "price_id"),
    ],
)
async def test_a_missing_field_is_named_and_nothing_is_written(
    area: Catalog, fake: RecordingCatalog, operation: str, request_: Message, field: str
) -> None:
    who = caller(Role.MANAGER)
    with who.scope(), pytest.raises(InvalidArgument) as refused:
        await getattr(area, operation)(who, request_)
    assert refused.value.violations[0].field == field
    assert fake.calls == []


async def test_catalog_errors_name_the_gateway_request_fields(area: Catalog) -> None:
    manager = caller(Role.MANAGER)
    with manager.scope():
        await area.create_plan(manager, ca.CreatePlanRequest(request_id="r1", plan=PLAN))
        fake_plan = cast(RecordingCatalog, area.peers.catalog).plans[(TENANT.id, "family")]
        fake_plan.state = cat.PLAN_STATE_RETIRED
        with pytest.raises(InvalidArgument) as refused:
            await area.activate_plan(manager, ca.ActivatePlanRequest(request_id="r2", plan_id="family"))
    assert refused.value.violations[0].field == "plan_id"


async def test_another_tenants_plan_is_not_found(area: Catalog) -> None:
    ours, theirs = caller(Role.MANAGER), caller(Role.MANAGER, OTHER)
    with ours.scope():
        await area.create_plan(ours, ca.CreatePlanRequest(request_id="r1", plan=PLAN))
    with theirs.scope(), pytest.raises(NotFound):
        await area.activate_plan(theirs, ca.ActivatePlanRequest(request_id="r2", plan_id="family"))
    with ours.scope():
        activated = await area.activate_plan(ours, ca.ActivatePlanRequest(request_id="r3", plan_id="family"))
    assert activated.plan.state == cat.PLAN_STATE_ACTIVE


async def test_lists_hand_their_filter_order_and_old_fields_to_the_catalog(
    area: Catalog, fake: RecordingCatalog
) -> None:
    viewer = caller(Role.VIEWER)
    with viewer.scope():
        await area.list_plans(viewer, gw.ListPlansRequest(family="ott", filter="state = active", order_by="rank desc"))
        await area.list_prices(viewer, gw.ListPricesRequest(plan_id="family", filter="scheduled = true"))
        await area.list_storefronts(viewer, gw.ListStorefrontsRequest(filter="currency_code = EUR", order_by="id"))
        await area.list_features(viewer, ca.ListFeaturesRequest(filter="kind = quota"))
        await area.list_channel_mappings(viewer, ca.ListChannelMappingsRequest(order_by="plan_id"))
    sent = {name: request for name, request in fake.calls}
    plans = cast(cat.ListPlansRequest, sent["ListPlans"])
    assert (plans.family, plans.filter, plans.order_by, plans.page_size) == ("ott", "state = active", "rank desc", 50)
    prices = cast(cat.ListPricesRequest, sent["ListPrices"])
    assert (prices.plan_id, prices.filter) == ("family", "scheduled = true")
    assert cast(cat.ListStorefrontsRequest, sent["ListStorefronts"]).order_by == "id"
    assert cast(cat.ListFeaturesRequest, sent["ListFeatures"]).filter == "kind = quota"
    assert cast(cat.ListChannelMappingsRequest, sent["ListChannelMappings"]).order_by == "plan_id"


# --- ListApiKeys: filter, order and page tokens ----------------------------------------------------


async def _keys(suite: FakeSuite) -> None:
    gateway, admin = suite.gateway(), caller(Role.ADMIN)
    with admin.scope():
        for name, role in (("b-viewer", "VIEWER"), ("a-viewer", "VIEWER"), ("ops", "OPERATOR")):
            await gateway.admin.create_api_key(
                admin,
                ta.CreateApiKeyRequest(
                    request_id=name, display_name=name, role=ta.ApiKeyRole.Value(f"API_KEY_ROLE_{role}")
                ),
            )
        listed = await gateway.admin.list_api_keys(admin, ta.ListApiKeysRequest(filter="role = operator"))
        await gateway.admin.revoke_api_key(
            admin, ta.RevokeApiKeyRequest(request_id="rv", api_key_id=listed.api_keys[0].id)
        )


async def list_keys(suite: FakeSuite, request: ta.ListApiKeysRequest) -> ta.ListApiKeysResponse:
    admin = caller(Role.ADMIN)
    with admin.scope():
        return await suite.gateway().admin.list_api_keys(admin, request)


async def test_api_keys_filter_on_role_and_revocation() -> None:
    suite = FakeSuite()
    await _keys(suite)
    viewers = await list_keys(suite, ta.ListApiKeysRequest(filter="role = viewer AND revoked = false"))
    assert sorted(k.display_name for k in viewers.api_keys) == ["a-viewer", "b-viewer"]
    revoked = await list_keys(suite, ta.ListApiKeysRequest(filter="revoked = true"))
    assert [k.display_name for k in revoked.api_keys] == ["ops"]
    # without `revoked` in the filter, show_revoked decides as before
    assert [
        k.display_name for k in (await list_keys(suite, ta.ListApiKeysRequest(filter="role = operator"))).api_keys
    ] == []
    shown = await list_keys(suite, ta.ListApiKeysRequest(filter="role = operator", show_revoked=True))
    assert [k.display_name for k in shown.api_keys] == ["ops"]


async def test_api_keys_order_and_pages_bound_to_the_query() -> None:
    suite = FakeSuite()
    await _keys(suite)
    first = await list_keys(
        suite, ta.ListApiKeysRequest(filter="role = viewer", order_by="display_name desc", page_size=1)
    )
    assert [k.display_name for k in first.api_keys] == ["b-viewer"] and first.next_page_token
    second = await list_keys(
        suite,
        ta.ListApiKeysRequest(
            filter="role = viewer", order_by="display_name desc", page_size=1, page_token=first.next_page_token
        ),
    )
    assert [k.display_name for k in second.api_keys] == ["a-viewer"]
    with pytest.raises(InvalidArgument) as refused:
        await list_keys(suite, ta.ListApiKeysRequest(order_by="display_name", page_token=first.next_page_token))
    assert refused.value.violations[0].field == "page_token"


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (ta.ListApiKeysRequest(filter="role = owner"), "filter"),
        (ta.ListApiKeysRequest(filter="revoked = sometimes"), "filter"),
        (ta.ListApiKeysRequest(filter="prefix = azk"), "filter"),
        (ta.ListApiKeysRequest(order_by="secret"), "order_by"),
    ],
)
async def test_a_bad_api_key_filter_or_order_names_its_field(request_: ta.ListApiKeysRequest, field: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await list_keys(FakeSuite(), request_)
    assert refused.value.violations[0].field == field
