"""Access checks answered from the edge cache, falling back to the entitlement service's projection."""

from __future__ import annotations

import time
from datetime import UTC
from typing import TYPE_CHECKING

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.domain.access_cache import AccessCache
from azotte_gateway.service_layer import translate
from azotte_platform.clock import Clock
from azotte_platform.events.envelope import ReceivedEvent

if TYPE_CHECKING:
    from azotte.entitlement.v1.entitlement_pb2_grpc import EntitlementServiceAsyncStub


class AccessReader:
    """Access decisions as the entitlement service answers them, kept until an entitlement event names the customer."""

    def __init__(
        self,
        entitlement: EntitlementServiceAsyncStub,
        clock: Clock,
        *,
        ttl_seconds: float,
        settle_seconds: float,
        max_customers: int,
    ):
        self._entitlement = entitlement
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
        answer = await self._entitlement.CheckAccess(
            ent.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key)
        )
        valid_until = answer.valid_until.ToDatetime(tzinfo=UTC) if answer.HasField("valid_until") else None
        decision = translate.access_decision(feature_key, answer)
        self.cache.put(customer, ticket, feature_key, decision, valid_until)
        return decision

    def on_entitlement_event(self, event: ReceivedEvent) -> None:
        """Every entitlement event names the customer whose access it changed."""
        if event.about:
            self.cache.invalidate((event.tenant_id, event.about))
