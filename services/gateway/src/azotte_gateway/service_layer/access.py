"""Access checks and entitlements: answered from the edge cache, else by the entitlement service."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.adapters import proto
from azotte_gateway.domain.access_cache import AccessCache
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require
from azotte_platform.clock import Clock
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent

# NOTE: bounds the work one call can ask for (one decision per key); said in gateway.proto.
MAX_BATCH_FEATURE_KEYS = 100


class AccessReader:
    """Access decisions as the entitlement service answers them, kept until an entitlement event names the customer."""

    def __init__(self, peers: Peers, clock: Clock, *, ttl_seconds: float, settle_seconds: float, max_customers: int):
        self._peers = peers
        self._clock = clock
        self.cache: AccessCache[gw.AccessDecision] = AccessCache(
            ttl_seconds=ttl_seconds,
            settle_seconds=settle_seconds,
            max_customers=max_customers,
            monotonic=time.monotonic,
        )

    async def check(self, tenant_id: str, customer_id: str, feature_key: str) -> gw.AccessDecision:
        """The entitlement service's decision, from the cache when it is still current (never modify it)."""
        customer = (tenant_id, customer_id)
        cached = self.cache.get(customer, feature_key, self._clock.now())
        if cached is not None:
            return cached
        ticket = self.cache.ticket(customer)
        answer = await self._peers.entitlement.CheckAccess(
            ent.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key)
        )
        valid_until = answer.valid_until.ToDatetime(tzinfo=UTC) if answer.HasField("valid_until") else None
        decision = proto.access_decision(feature_key, answer)
        self.cache.put(customer, ticket, feature_key, decision, valid_until)
        return decision

    def on_entitlement_event(self, event: ReceivedEvent) -> None:
        """Every entitlement event names the customer whose access it changed."""
        if event.about:
            self.cache.invalidate((event.tenant_id, event.about))


@dataclass(frozen=True)
class Access:
    """CheckAccess, BatchCheckAccess, ListEntitlements: for customers of the caller's tenant only."""

    peers: Peers
    reader: AccessReader
    customers: KnownCustomers

    async def check_access(self, caller: Caller, request: gw.CheckAccessRequest) -> gw.CheckAccessResponse:
        authorize(caller.principal, Permission.CHECK_ACCESS, customer_id=request.customer_id)
        require(request, "customer_id", "feature_key")
        if request.quantity < 0:
            raise InvalidArgument.field("quantity", "must not be negative")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        decision = await self.reader.check(caller.principal.tenant_id, request.customer_id, request.feature_key)
        # NOTE: a quantity is checked against the quota left, not consumed; usage is recorded by metering.
        short = decision.HasField("remaining_quota") and decision.remaining_quota < request.quantity
        response = gw.CheckAccessResponse(decision=decision)  # a copy: the cached decision stays as it is
        if decision.allowed and request.quantity and short:
            response.decision.allowed = False
            response.decision.denial_reason = gw.ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED
        return response

    async def batch_check_access(
        self, caller: Caller, request: gw.BatchCheckAccessRequest
    ) -> gw.BatchCheckAccessResponse:
        authorize(caller.principal, Permission.CHECK_ACCESS, customer_id=request.customer_id)
        require(request, "customer_id")
        if len(request.feature_keys) > MAX_BATCH_FEATURE_KEYS:
            raise InvalidArgument.field(
                "feature_keys", f"at most {MAX_BATCH_FEATURE_KEYS} per call, got {len(request.feature_keys)}"
            )
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.BatchCheckAccess(
            ent.BatchCheckAccessRequest(customer_id=request.customer_id, feature_keys=request.feature_keys)
        )
        return gw.BatchCheckAccessResponse(decisions=[proto.access_decision(r.feature_key, r) for r in answer.results])

    async def list_entitlements(
        self, caller: Caller, request: gw.ListEntitlementsRequest
    ) -> gw.ListEntitlementsResponse:
        authorize(caller.principal, Permission.LIST_ENTITLEMENTS, customer_id=request.customer_id)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.ListEntitlements(
            ent.ListEntitlementsRequest(
                customer_id=request.customer_id, page_size=request.page_size, page_token=request.page_token
            )
        )
        return gw.ListEntitlementsResponse(
            entitlements=[proto.entitlement(e) for e in answer.entitlements if e.access.allowed],
            next_page_token=answer.next_page_token,
        )
