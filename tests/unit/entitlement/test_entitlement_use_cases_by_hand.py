"""Entitlements by hand through the servicer with fakes: comps of several features or a plan, listing,
revocation scoped to a customer, suspensions, reconciliation reports, and the consistency token of each change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte_entitlement.domain.derivation import PlanFeature
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.servicer import EntitlementServicer
from azotte_entitlement.errors import GrantNotFound, InvalidGrant
from azotte_entitlement.service_layer.consistency import OWN_WRITES
from azotte_platform import context, convert
from azotte_platform.clock import FixedClock
from azotte_platform.errors import InvalidArgument
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork, FakePlanCatalog, no_gate

TENANT = "t1"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
END = convert.timestamp(NOW + timedelta(days=30))
PREMIUM = (PlanFeature("4k", FeatureKind.BOOLEAN), PlanFeature("downloads", FeatureKind.QUOTA, 20))


@pytest.fixture
def uow() -> FakeEntitlementUnitOfWork:
    return FakeEntitlementUnitOfWork(FixedClock(NOW))


@pytest.fixture
def servicer(uow: FakeEntitlementUnitOfWork) -> EntitlementServicer:
    plans = FakePlanCatalog({"premium": PREMIUM})
    return EntitlementServicer(lambda: uow, AccessProjection(), plans, uow.clock, timedelta(days=7), no_gate())


@pytest.fixture(autouse=True)
def operator() -> object:
    with context.tenant_scope(TENANT, principal="api_key:k1") as scope:
        yield scope


def comp(request_id: str = "g-1", **fields: Any) -> pb.CreateManualGrantRequest:
    values: dict[str, Any] = {"request_id": request_id, "customer_id": "c1", "valid_until": END, "reason": "case 7"}
    return pb.CreateManualGrantRequest(**{**values, **fields})


async def allowed(servicer: EntitlementServicer, feature_key: str, token: str = "", customer: str = "c1") -> bool:
    request = pb.CheckAccessRequest(customer_id=customer, feature_key=feature_key, consistency_token=token)
    return (await servicer.CheckAccess(request, None)).allowed


async def test_a_comp_of_several_features_takes_their_kinds_from_the_catalog_and_its_token_is_reached_at_once(
    servicer: EntitlementServicer, uow: FakeEntitlementUnitOfWork
) -> None:
    created = await servicer.CreateManualGrant(comp(feature_keys=["4k", "downloads"], limit=5), None)

    assert [(g.feature_key, g.kind, g.HasField("limit")) for g in created.grants] == [
        ("4k", pb.FEATURE_KIND_BOOLEAN, False),  # the limit is the quota's
        ("downloads", pb.FEATURE_KIND_QUOTA, True),
    ]
    assert created.grants[1].limit == 5 and created.grants[0].audit.actor == "api_key:k1"
    event_id = created.consistency_token.removeprefix("ct1.")
    assert (OWN_WRITES, event_id) in uow.handled  # any replica finds the write committed
    # the gate (which finds nothing handled elsewhere) is already past the write on this replica
    assert await allowed(servicer, "4k", created.consistency_token)
    assert await allowed(servicer, "downloads", created.consistency_token)


async def test_a_boolean_feature_refuses_a_limit_and_nothing_is_granted(servicer: EntitlementServicer) -> None:
    with pytest.raises(InvalidGrant) as refused:
        await servicer.CreateManualGrant(comp(feature_keys=["4k"], limit=5), None)
    assert [v.field for v in refused.value.violations] == ["limit"]
    assert not await allowed(servicer, "4k")


async def test_a_comp_of_a_plan_grants_each_feature_with_the_plans_limits(servicer: EntitlementServicer) -> None:
    created = await servicer.CreateManualGrant(comp(plan_id="premium"), None)
    assert [(g.feature_key, g.limit if g.HasField("limit") else None) for g in created.grants] == [
        ("4k", None),
        ("downloads", 20),
    ]
    assert await allowed(servicer, "downloads")


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"feature_keys": ["nope"]}, "feature_keys"),
        ({"plan_id": "nope"}, "plan_id"),
        ({"feature_keys": ["4k"], "plan_id": "premium"}, "feature_keys"),
        ({}, "feature_keys"),
        ({"feature_keys": ["4k", "4k"]}, "feature_keys"),
        ({"plan_id": "premium", "limit": 3}, "limit"),
    ],
)
async def test_what_a_comp_names_is_validated(
    servicer: EntitlementServicer, fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidGrant) as refused:
        await servicer.CreateManualGrant(comp(**fields), None)
    assert field in [v.field for v in refused.value.violations]


async def test_a_grant_is_revoked_only_for_its_own_customer(servicer: EntitlementServicer) -> None:
    grant = (await servicer.CreateManualGrant(comp(feature_keys=["4k"]), None)).grants[0]
    with pytest.raises(GrantNotFound):
        await servicer.RevokeGrant(
            pb.RevokeGrantRequest(request_id="r-1", grant_id=grant.grant_id, reason="x", customer_id="c2"), None
        )
    revoked = await servicer.RevokeGrant(
        pb.RevokeGrantRequest(request_id="r-2", grant_id=grant.grant_id, reason="closed", customer_id="c1"), None
    )
    assert revoked.consistency_token.startswith("ct1.")
    assert not await allowed(servicer, "4k", revoked.consistency_token)


async def test_a_suspension_overrides_a_grant_until_restored(servicer: EntitlementServicer) -> None:
    await servicer.CreateManualGrant(comp(feature_keys=["4k"]), None)
    suspend = pb.SuspendFeatureRequest(request_id="s-1", customer_id="c1", feature_key="4k", reason="abuse")
    suspended = await servicer.SuspendFeature(suspend, None)
    again = await servicer.SuspendFeature(pb.SuspendFeatureRequest(**{**_fields(suspend), "request_id": "s-2"}), None)
    assert not await allowed(servicer, "4k", suspended.consistency_token)
    assert again.consistency_token == "" and again.suspension.reason == "abuse"  # nothing new to wait for

    restored = await servicer.RestoreFeature(
        pb.RestoreFeatureRequest(request_id="s-3", customer_id="c1", feature_key="4k"), None
    )
    assert await allowed(servicer, "4k", restored.consistency_token)


async def test_grants_are_listed_filtered_ordered_and_paged(servicer: EntitlementServicer) -> None:
    for index, key in enumerate(["a", "b", "c"]):
        until = convert.timestamp(NOW + timedelta(days=30 - index))
        await servicer.CreateManualGrant(
            comp(f"g-{key}", feature_keys=[key], kind=pb.FEATURE_KIND_BOOLEAN, valid_until=until), None
        )
    seen, token = [], ""
    while True:
        page = await servicer.ListGrants(
            pb.ListGrantsRequest(
                customer_id="c1",
                filter=f'source = manual AND valid_until < "{(NOW + timedelta(days=30)).isoformat()}"',
                order_by="valid_until desc",
                page_size=1,
                page_token=token,
            ),
            None,
        )
        seen += [g.feature_key for g in page.grants]
        token = page.next_page_token
        if not token:
            break
    assert seen == ["b", "c"]
    everything = await servicer.ListGrants(pb.ListGrantsRequest(customer_id="c1"), None)
    assert [g.feature_key for g in everything.grants] == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("request_fields", "field"),
    [
        ({"filter": "reason = x"}, "filter"),
        ({"filter": "source = gift"}, "filter"),
        ({"filter": "valid_until < tomorrow"}, "filter"),
        ({"order_by": "reason"}, "order_by"),
        ({"customer_id": ""}, "customer_id"),
    ],
)
async def test_list_grants_refuses_what_it_does_not_know(
    servicer: EntitlementServicer, request_fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await servicer.ListGrants(pb.ListGrantsRequest(**{"customer_id": "c1", **request_fields}), None)
    assert [v.field for v in refused.value.violations] == [field]


async def test_a_page_token_is_bound_to_its_filter(servicer: EntitlementServicer) -> None:
    for key in ("a", "b"):
        await servicer.CreateManualGrant(comp(f"g-{key}", feature_keys=[key], kind=pb.FEATURE_KIND_BOOLEAN), None)
    first = await servicer.ListGrants(pb.ListGrantsRequest(customer_id="c1", page_size=1), None)
    with pytest.raises(InvalidArgument) as refused:
        await servicer.ListGrants(
            pb.ListGrantsRequest(customer_id="c1", page_token=first.next_page_token, order_by="valid_from"), None
        )
    assert [v.field for v in refused.value.violations] == ["page_token"]


async def test_reconciliation_lists_each_correction_and_names_its_write(
    servicer: EntitlementServicer, uow: FakeEntitlementUnitOfWork
) -> None:
    stray = Grant(GrantKey(TENANT, "c1", "hd", GrantSource.SUBSCRIPTION, "sub-gone"), FeatureKind.BOOLEAN, NOW)
    uow.grants.rows[(TENANT, stray.key.grant_id)] = stray
    dry = await servicer.ReconcileDrift(
        pb.ReconcileDriftRequest(request_id="d-1", customer_id="c1", validate_only=True), None
    )
    assert [(c.kind, c.grant.feature_key) for c in dry.corrections] == [(pb.DRIFT_CORRECTION_KIND_REVOKE, "hd")]
    assert dry.consistency_token == "" and (TENANT, stray.key.grant_id) in uow.grants.rows  # reported only

    fixed = await servicer.ReconcileDrift(pb.ReconcileDriftRequest(request_id="d-2", customer_id="c1"), None)
    clean = await servicer.ReconcileDrift(pb.ReconcileDriftRequest(request_id="d-3", customer_id="c1"), None)
    assert fixed.report.revoked_count == 1 and fixed.consistency_token.startswith("ct1.")
    assert (TENANT, stray.key.grant_id) not in uow.grants.rows
    assert (clean.report.revoked_count, list(clean.corrections), clean.consistency_token) == (0, [], "")


def _fields(message: pb.SuspendFeatureRequest) -> dict[str, Any]:
    return {f.name: v for f, v in message.ListFields()}
