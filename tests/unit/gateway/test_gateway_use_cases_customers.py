"""Customer-scoped reads answer only for customers of the caller's tenant; batches are bounded."""

from __future__ import annotations

from typing import cast

import pytest

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.domain.permissions import Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import MAX_BATCH_FEATURE_KEYS
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument, NotFound
from tests.unit.gateway.fakes import TENANT, FakeSuite, caller

OTHER = Tenant("other-co", "Other", TenantMode.SANDBOX)


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.lifecycle.add_customer("cus_own")
    suite.lifecycle.add_customer("cus_theirs", OTHER.id)
    return suite


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


@pytest.mark.parametrize("customer", ["cus_theirs", "cus_nobody"])
async def test_entitlements_subscriptions_and_charges_of_a_foreign_or_unknown_customer_are_not_found(
    gateway: Gateway, customer: str
) -> None:
    who = caller(Role.VIEWER)
    reads = [
        gateway.access.list_entitlements(who, gw.ListEntitlementsRequest(customer_id=customer)),
        gateway.subscriptions.list_subscriptions(who, gw.ListSubscriptionsRequest(customer_id=customer)),
        gateway.billing.list_charges(who, gw.ListChargesRequest(customer_id=customer)),
    ]
    with who.scope():
        for read in reads:
            with pytest.raises(NotFound):
                await read


async def test_the_own_customer_is_listed(gateway: Gateway) -> None:
    who = caller(Role.VIEWER)
    with who.scope():
        answer = await gateway.access.list_entitlements(who, gw.ListEntitlementsRequest(customer_id="cus_own"))
    assert list(answer.entitlements) == []


async def test_a_batch_above_the_cap_is_refused_naming_feature_keys(gateway: Gateway) -> None:
    who = caller(Role.PUBLISHABLE)
    keys = [f"f{i}" for i in range(MAX_BATCH_FEATURE_KEYS + 1)]
    with who.scope(), pytest.raises(InvalidArgument) as refused:
        await gateway.access.batch_check_access(
            who, gw.BatchCheckAccessRequest(customer_id="cus_own", feature_keys=keys)
        )
    assert [v.field for v in refused.value.violations] == ["feature_keys"]


class CountingLifecycle:
    def __init__(self, known: set[str]):
        self.known = known
        self.reads = 0

    async def GetCustomer(self, request: lc.GetCustomerRequest) -> lc.GetCustomerResponse:
        self.reads += 1
        if request.customer_id not in self.known:
            raise NotFound(f"customer {request.customer_id!r} not found")
        return lc.GetCustomerResponse(customer=lc.Customer(id=request.customer_id))


class LifecycleOnly:
    def __init__(self, lifecycle: CountingLifecycle):
        self.lifecycle = lifecycle


async def test_a_customer_is_asked_for_once_per_tenant_and_misses_are_not_kept() -> None:
    lifecycle = CountingLifecycle({"cus_1"})
    customers = KnownCustomers(cast(Peers, LifecycleOnly(lifecycle)), max_customers=10)
    for _ in range(3):
        await customers.require(TENANT.id, "cus_1")
    assert lifecycle.reads == 1
    await customers.require(OTHER.id, "cus_1")
    assert lifecycle.reads == 2, "known in one tenant says nothing about another"
    with pytest.raises(NotFound):
        await customers.require(TENANT.id, "cus_2")
    lifecycle.known.add("cus_2")
    await customers.require(TENANT.id, "cus_2")


async def test_known_customers_are_bounded_oldest_first() -> None:
    lifecycle = CountingLifecycle({"a", "b", "c"})
    customers = KnownCustomers(cast(Peers, LifecycleOnly(lifecycle)), max_customers=2)
    for customer in ("a", "b", "c"):
        await customers.require(TENANT.id, customer)
    assert len(customers) == 2
    await customers.require(TENANT.id, "a")
    assert lifecycle.reads == 4, "the oldest was forgotten and asked for again"
