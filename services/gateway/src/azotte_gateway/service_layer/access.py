"""Access checks and entitlements: answered from the edge cache, else by the entitlement service."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.adapters import proto
from azotte_gateway.domain.access_cache import AccessCache, RecentWrites
from azotte_gateway.domain.localization import content_language
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.localization import feature_texts, language, name_entitlements
from azotte_gateway.service_layer.validation import require
from azotte_platform.clock import Clock
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent

# NOTE: bounds the work one call can ask for (one decision per key); said in gateway.proto.
MAX_BATCH_FEATURE_KEYS = 100
# How long a key's own write is applied to its next checks (well past the projection's usual lag).
REMEMBER_WRITES_SECONDS = 10.0
Checked = tuple[gw.AccessDecision, str]  # a decision and the consistency token of the state it reflects


class AccessReader:
    """Access decisions as the entitlement service answers them, kept until an entitlement event names the customer."""

    def __init__(
        self,
        peers: Peers,
        clock: Clock,
        *,
        ttl_seconds: float,
        settle_seconds: float,
        max_customers: int,
        remember_writes_seconds: float = REMEMBER_WRITES_SECONDS,
    ):
        self._peers = peers
        self._clock = clock
        self.cache: AccessCache[Checked] = AccessCache(
            ttl_seconds=ttl_seconds,
            settle_seconds=settle_seconds,
            max_customers=max_customers,
            monotonic=time.monotonic,
        )
        self.writes = RecentWrites(
            ttl_seconds=remember_writes_seconds, max_entries=max_customers, monotonic=time.monotonic
        )

    def wrote(self, caller: Caller, customer_id: str, token: str) -> None:
        """The caller's write changed the customer's entitlements: this replica's cache must not answer from
        before it, and the caller's key reads it on its next checks (read-your-writes)."""
        tenant_id = caller.principal.tenant_id
        self.cache.invalidate((tenant_id, customer_id))
        if token:
            self.writes.remember((tenant_id, caller.principal.api_key_id, customer_id), token)

    def token_for(self, caller: Caller, customer_id: str, token: str) -> str:
        """The token a read must reach: the one asked for, else the caller's own recent write's ("" if none)."""
        return token or self.writes.token((caller.principal.tenant_id, caller.principal.api_key_id, customer_id))

    async def check(self, tenant_id: str, customer_id: str, feature_key: str, token: str = "") -> Checked:
        """The entitlement service's decision, from the cache when it is still current (never modify it).

        NOTE: a check with a consistency token skips the cache: entitlement answers it once its projection
        has reached the token, so the answer is never older than the write the token names.
        """
        customer = (tenant_id, customer_id)
        if not token:
            cached = self.cache.get(customer, feature_key, self._clock.now())
            if cached is not None:
                return cached
        ticket = self.cache.ticket(customer)
        answer = await self._peers.entitlement.CheckAccess(
            ent.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key, consistency_token=token)
        )
        valid_until = answer.valid_until.ToDatetime(tzinfo=UTC) if answer.HasField("valid_until") else None
        checked = (proto.access_decision(feature_key, answer), answer.consistency_token)
        if not token:
            self.cache.put(customer, ticket, feature_key, checked, valid_until)
        return checked

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
        token = self.reader.token_for(caller, request.customer_id, request.consistency_token)
        decision, reflects = await self.reader.check(
            caller.principal.tenant_id, request.customer_id, request.feature_key, token
        )
        # NOTE: a quantity is checked against the quota left, not consumed; usage is recorded by metering.
        short = decision.HasField("remaining_quota") and decision.remaining_quota < request.quantity
        # a copy: the cached decision stays as it is
        response = gw.CheckAccessResponse(decision=decision, consistency_token=reflects)
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
            ent.BatchCheckAccessRequest(
                customer_id=request.customer_id,
                feature_keys=request.feature_keys,
                consistency_token=self.reader.token_for(caller, request.customer_id, request.consistency_token),
            )
        )
        return gw.BatchCheckAccessResponse(
            decisions=[proto.access_decision(r.feature_key, r) for r in answer.results],
            consistency_token=answer.consistency_token,
        )

    async def list_entitlements(
        self, caller: Caller, request: gw.ListEntitlementsRequest
    ) -> gw.ListEntitlementsResponse:
        authorize(caller.principal, Permission.LIST_ENTITLEMENTS, customer_id=request.customer_id)
        require(request, "customer_id")
        preference = language(request.locale)
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.ListEntitlements(
            ent.ListEntitlementsRequest(
                customer_id=request.customer_id,
                page_size=request.page_size,
                page_token=request.page_token,
                consistency_token=self.reader.token_for(caller, request.customer_id, request.consistency_token),
                filter=request.filter,
                order_by=request.order_by,
            )
        )
        entitlements = [proto.entitlement(e) for e in answer.entitlements if e.access.allowed]
        name_entitlements(entitlements, await feature_texts(self.peers, preference))
        return gw.ListEntitlementsResponse(
            entitlements=entitlements,
            next_page_token=answer.next_page_token,
            consistency_token=answer.consistency_token,
            content_language=content_language(e.display_locale for e in entitlements),
        )
