"""Which customers exist in a tenant: customer-scoped reads answer NOT_FOUND for anyone else.

The customer lives in lifecycle, so a customer id is verified there once (lifecycle's `GetCustomer`
answers only in the caller's tenant: another tenant's customer is as unknown as a made-up id) and then
kept per (tenant, customer). Customers are never deleted, so a kept customer stays true; the set is
bounded (oldest forgotten first, then verified again). Access checks of a known customer thus cost no
extra hop; an unknown id costs one lifecycle read per call (nothing negative is kept, so a customer
registered a moment later is found at once).
"""

from __future__ import annotations

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.ports import Peers

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
