"""ListEntitlements through the servicer: AIP-160 filter on feature_key and source, AIP-132 order_by, page
tokens bound to both, and the consistency token answered as before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte_entitlement.domain.consistency import token_of
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.entrypoints.servicer import EntitlementServicer
from azotte_entitlement.errors import ConsistencyNotReached
from azotte_platform import context
from azotte_platform.clock import FixedClock
from azotte_platform.errors import InvalidArgument
from tests.unit.entitlement.fakes import FakeEntitlementUnitOfWork, FakePlanCatalog, no_gate

NOW = datetime(2026, 3, 1, tzinfo=UTC)
GRANTS = {"4k": GrantSource.SUBSCRIPTION, "downloads": GrantSource.MANUAL, "hd": GrantSource.SUBSCRIPTION}


@pytest.fixture
def servicer() -> EntitlementServicer:
    uow = FakeEntitlementUnitOfWork(FixedClock(NOW))
    projection = AccessProjection()
    for feature, source in GRANTS.items():
        key = GrantKey("t1", "c1", feature, source, "sub_1" if source is GrantSource.SUBSCRIPTION else "m1")
        projection.upsert(Grant(key, FeatureKind.BOOLEAN, NOW - timedelta(days=1)))
    return EntitlementServicer(lambda: uow, projection, FakePlanCatalog({}), uow.clock, timedelta(days=7), no_gate())


@pytest.fixture(autouse=True)
def tenant() -> object:
    with context.tenant_scope("t1", principal="api_key:k1") as scope:
        yield scope


async def listed(servicer: EntitlementServicer, **fields: Any) -> tuple[list[str], str]:
    answer = await servicer.ListEntitlements(pb.ListEntitlementsRequest(customer_id="c1", **fields), None)
    return [e.access.feature_key for e in answer.entitlements], answer.next_page_token


async def test_a_filter_narrows_by_source_or_feature(servicer: EntitlementServicer) -> None:
    assert await listed(servicer) == (["4k", "downloads", "hd"], "")
    assert await listed(servicer, filter="source = subscription") == (["4k", "hd"], "")
    assert await listed(servicer, filter='source = MANUAL AND feature_key = "downloads"') == (["downloads"], "")
    assert await listed(servicer, filter="source = group") == ([], "")


async def test_order_by_desc_pages_in_reverse_and_a_token_is_bound_to_its_query(
    servicer: EntitlementServicer,
) -> None:
    first, token = await listed(servicer, order_by="feature_key desc", page_size=2)
    assert first == ["hd", "downloads"]
    assert await listed(servicer, order_by="feature_key desc", page_size=2, page_token=token) == (["4k"], "")
    with pytest.raises(InvalidArgument, match="page_token"):
        await listed(servicer, page_size=2, page_token=token)
    with pytest.raises(InvalidArgument, match="page_token"):
        await listed(servicer, filter="source = manual", order_by="feature_key desc", page_token=token)


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"filter": "source = coupon"}, "filter"),
        ({"filter": "valid_until > 1"}, "filter"),
        ({"order_by": "source"}, "order_by"),
    ],
)
async def test_a_bad_filter_or_order_is_refused_before_waiting_for_a_consistency_token(
    servicer: EntitlementServicer, fields: dict[str, str], named: str
) -> None:
    # NOTE: a token this replica never reaches would wait; the bad request is refused first.
    with pytest.raises(InvalidArgument, match=named):
        await listed(servicer, consistency_token=token_of("ev-never"), **fields)


async def test_a_filtered_list_still_waits_for_its_consistency_token(servicer: EntitlementServicer) -> None:
    with pytest.raises(ConsistencyNotReached):
        await listed(servicer, filter="feature_key = hd", consistency_token=token_of("ev-never"))
    answer = await servicer.ListEntitlements(
        pb.ListEntitlementsRequest(customer_id="c1", filter="feature_key = hd"), None
    )
    assert [g.feature_key for g in answer.entitlements[0].grants] == ["hd"]
