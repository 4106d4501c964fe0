"""UsageBillingService at the gateway: every role and key kind gets exactly its permissions, another tenant's
customer is NOT_FOUND, and every change needs the caller's request id."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from azotte.common.v1.money_pb2 import Money
from azotte.gateway.v1 import usage_billing_pb2 as ub
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.metering.v1 import wallets_pb2 as wa
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import RolePermissionMissing
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.usage_billing import UsageBilling
from azotte_platform.errors import InvalidArgument, NotFound
from tests.unit.gateway.fakes import TENANT, caller

USD = Money(currency_code="USD", amount_minor=500)


@dataclass
class Lifecycle:
    """Knows cus_1 only (another tenant's customer is unknown here)."""

    async def GetCustomer(self, request: lc.GetCustomerRequest) -> lc.GetCustomerResponse:
        if request.customer_id != "cus_1":
            raise NotFound(f"customer {request.customer_id} not found")
        return lc.GetCustomerResponse()


@dataclass
class Wallets:
    """Metering's WalletsService: records each call and answers an empty response."""

    calls: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Callable[[Any], Awaitable[Any]]:
        async def call(request: Any) -> Any:
            self.calls.append(name)
            response_name = type(request).DESCRIPTOR.name.removesuffix("Request") + "Response"
            return getattr(wa, response_name)()

        return call


@dataclass
class StubPeers:
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    wallets: Wallets = field(default_factory=Wallets)


def area() -> tuple[UsageBilling, Wallets]:
    peers = StubPeers()
    typed = cast(Peers, peers)
    return UsageBilling(typed, KnownCustomers(typed, max_customers=10)), peers.wallets


CALLS: dict[str, tuple[str, Any]] = {
    "read": ("get_wallet", ub.GetWalletRequest(customer_id="cus_1", currency_code="USD")),
    "preview": ("preview_usage_charges", ub.PreviewUsageChargesRequest(customer_id="cus_1")),
    "limits": ("list_usage_limits", ub.ListUsageLimitsRequest(customer_id="cus_1")),
    "grant": ("grant_usage_credit", ub.GrantUsageCreditRequest(request_id="r1", customer_id="cus_1", amount=USD)),
    "top_up": ("top_up_wallet", ub.TopUpWalletRequest(request_id="r2", customer_id="cus_1", amount=USD)),
    "price": ("set_usage_price", ub.SetUsagePriceRequest(request_id="r3", price=wa.UsagePrice(meter_key="m"))),
    "limit": (
        "set_usage_limit",
        ub.SetUsageLimitRequest(request_id="r4", limit=wa.Limit(limit_id="l", customer_id="cus_1")),
    ),
}
ALLOWED = {
    Role.PUBLISHABLE: set(),
    Role.VIEWER: {"read", "preview", "limits"},
    Role.OPERATOR: {"read", "preview", "limits", "grant", "top_up"},
    Role.MANAGER: set(CALLS),
    Role.ADMIN: set(CALLS),
}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("call", list(CALLS))
async def test_each_role_gets_exactly_its_usage_billing_permissions(role: Role, call: str) -> None:
    billing, wallets = area()
    method, request = CALLS[call]
    who = caller(role)
    with who.scope():
        if call in ALLOWED[role]:
            await getattr(billing, method)(who, request)
            assert len(wallets.calls) == 1
        else:
            with pytest.raises(RolePermissionMissing):
                await getattr(billing, method)(who, request)
            assert wallets.calls == []


async def test_another_tenants_customer_is_not_found_and_metering_is_not_asked() -> None:
    billing, wallets = area()
    who = caller(Role.ADMIN, TENANT)
    with who.scope(), pytest.raises(NotFound):
        await billing.get_wallet(who, ub.GetWalletRequest(customer_id="cus_of_another_tenant", currency_code="USD"))
    assert wallets.calls == []


async def test_a_change_without_its_request_id_names_it() -> None:
    billing, wallets = area()
    who = caller(Role.OPERATOR)
    with who.scope(), pytest.raises(InvalidArgument) as raised:
        await billing.top_up_wallet(who, ub.TopUpWalletRequest(customer_id="cus_1", amount=USD))
    assert raised.value.violations[0].field == "request_id"
    assert wallets.calls == []
