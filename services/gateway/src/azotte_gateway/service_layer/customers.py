"""Customers: search, channel identities, subscription history; and which customers exist in a tenant.

`Customers` is the area of CustomersService (lifecycle does the work). `KnownCustomers` makes every
customer-scoped read answer NOT_FOUND for anyone else's customer:

The customer lives in lifecycle, so a customer id is verified there once (lifecycle's `GetCustomer`
answers only in the caller's tenant: another tenant's customer is as unknown as a made-up id) and then
kept per (tenant, customer). Customers are never deleted, so a kept customer stays true; the set is
bounded (oldest forgotten first, then verified again). Access checks of a known customer thus cost no
extra hop; an unknown id costs one lifecycle read per call (nothing negative is kept, so a customer
registered a moment later is found at once).
"""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import customers_pb2 as cu
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import forwarded

CustomerRef = tuple[str, str]


class KnownCustomers:
    """(tenant, customer) pairs lifecycle has confirmed, bounded to `max_customers`."""

    def __init__(self, peers: Peers, *, max_customers: int):
        self._peers = peers
        self._max_customers = max_customers
        self._known: dict[CustomerRef, None] = {}

    async def require(self, tenant_id: str, customer_id: str) -> None:
        """Return when the customer exists in the tenant; else lifecycle's NotFound propagates."""
        customer = (tenant_id, customer_id)
        if customer in self._known:
            return
        await self._peers.lifecycle.GetCustomer(lc.GetCustomerRequest(customer_id=customer_id))
        self.remember(tenant_id, customer_id)

    def remember(self, tenant_id: str, customer_id: str) -> None:
        """The customer exists (e.g. it was just registered)."""
        if len(self._known) >= self._max_customers:
            del self._known[next(iter(self._known))]
        self._known[(tenant_id, customer_id)] = None

    def __len__(self) -> int:
        return len(self._known)


@dataclass(frozen=True)
class Customers:
    """ListCustomers, LinkChannelIdentity, ListSubscriptionHistory."""

    peers: Peers
    known: KnownCustomers

    async def list_customers(self, caller: Caller, request: cu.ListCustomersRequest) -> cu.ListCustomersResponse:
        authorize(caller.principal, Permission.READ_CUSTOMERS)
        # NOTE: lifecycle parses `filter` and `order_by` (its errors name them) and binds its page tokens to them.
        answer = await self.peers.lifecycle.ListCustomers(
            lc.ListCustomersRequest(
                **forwarded(request),
            )
        )
        for found in answer.customers:
            self.known.remember(caller.principal.tenant_id, found.id)
        return cu.ListCustomersResponse(
            customers=[proto.customer(c) for c in answer.customers], next_page_token=answer.next_page_token
        )

    async def link_channel_identity(
        self, caller: Caller, request: cu.LinkChannelIdentityRequest
    ) -> cu.LinkChannelIdentityResponse:
        authorize(caller.principal, Permission.LINK_CHANNEL_IDENTITY)
        require_mutation(request, "customer_id")
        if not request.HasField("identity"):
            raise InvalidArgument.field("identity", "is required")
        identity = proto.channel_identity(request.identity)
        await self.known.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.lifecycle.LinkChannelIdentity(
            lc.LinkChannelIdentityRequest(
                request_id=request.request_id, customer_id=request.customer_id, identity=identity
            )
        )
        return cu.LinkChannelIdentityResponse(customer=proto.customer(answer.customer))

    async def list_subscription_history(
        self, caller: Caller, request: cu.ListSubscriptionHistoryRequest
    ) -> cu.ListSubscriptionHistoryResponse:
        authorize(caller.principal, Permission.READ_SUBSCRIPTIONS)
        require(request, "subscription_id")
        answer = await self.peers.lifecycle.ListSubscriptionHistory(
            lc.ListSubscriptionHistoryRequest(
                subscription_id=request.subscription_id,
                **forwarded(request),
            )
        )
        return cu.ListSubscriptionHistoryResponse(
            entries=[proto.history_entry(e) for e in answer.entries], next_page_token=answer.next_page_token
        )
