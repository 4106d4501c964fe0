"""Access checks and entitlements: answered from the edge cache, else by the entitlement service."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte_gateway.adapters import proto
from azotte_gateway.domain.access_cache import AccessCache, RecentWrites
from azotte_gateway.domain.localization import content_language
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access_changes import AccessChanges
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.localization import FeatureTexts, language, name_entitlements
from azotte_gateway.service_layer.validation import require
from azotte_platform.clock import Clock
from azotte_platform.errors import InvalidArgument
from azotte_platform.events.envelope import ReceivedEvent
from azotte_platform.telemetry import ACCESS_CACHE_LOOKUPS

# NOTE: bounds the work one call can ask for (one decision per key); said in gateway.proto.
MAX_BATCH_FEATURE_KEYS = 100
# How long a key's own write is applied to its next checks (well past the projection's usual lag).
REMEMBER_WRITES_SECONDS = 10.0
# Entitlements listed per call to the entitlement service while a watch reads a customer's whole set.
WATCH_PAGE_SIZE = 500
Checked = tuple[gw.AccessDecision, str]  # a decision and the consistency token of the state it reflects
_CACHE_HITS, _CACHE_MISSES, _CACHE_BYPASSES = (ACCESS_CACHE_LOOKUPS.labels(r) for r in ("hit", "miss", "bypass"))


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
        self.settle_seconds = settle_seconds
        self.changes = AccessChanges()

    def wrote(self, caller: Caller, customer_id: str, token: str) -> None:
        """The caller's write changed the customer's entitlements: this replica's cache must not answer from
        before it, and the caller's key reads it on its next checks (read-your-writes)."""
        tenant_id = caller.principal.tenant_id
        self.cache.invalidate((tenant_id, customer_id))
        self.changes.changed((tenant_id, customer_id))
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
        if token:
            _CACHE_BYPASSES.inc()
        else:
            cached = self.cache.get(customer, feature_key, self._clock.now())
            if cached is not None:
                _CACHE_HITS.inc()
                return cached
            _CACHE_MISSES.inc()
        ticket = self.cache.ticket(customer)
        answer = await self._peers.entitlement.CheckAccess(
            ent.CheckAccessRequest(customer_id=customer_id, feature_key=feature_key, consistency_token=token)
        )
        checked = (proto.access_decision(feature_key, answer), answer.consistency_token)
        if not token:
            self.cache.put(customer, ticket, feature_key, checked, proto.changes_by_itself_at(answer))
        return checked

    def on_entitlement_event(self, event: ReceivedEvent) -> None:
        """Every entitlement event names the customer whose access it changed."""
        if event.about:
            self.cache.invalidate((event.tenant_id, event.about))
            self.changes.changed((event.tenant_id, event.about))

    def forget_tenant(self, tenant_id: str) -> None:
        """The tenant's time moved: its answers are dropped and its watches read again."""
        self.cache.forget_tenant(tenant_id)
        self.changes.tenant_changed(tenant_id)

    def forget_all(self) -> None:
        """Events may have been missed: every answer is dropped and every watch reads again."""
        self.cache.clear()
        self.changes.all_changed()


@dataclass(frozen=True)
class Access:
    """CheckAccess, BatchCheckAccess, ListEntitlements, WatchEntitlements: for customers of the caller's tenant only."""

    peers: Peers
    reader: AccessReader
    customers: KnownCustomers
    texts: FeatureTexts
    # A watch reads its customer again after this long without an event (covers events missed meanwhile).
    watch_resync_seconds: float = 60.0

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
        name_entitlements(entitlements, await self.texts(preference))
        return gw.ListEntitlementsResponse(
            entitlements=entitlements,
            next_page_token=answer.next_page_token,
            consistency_token=answer.consistency_token,
            content_language=content_language(e.display_locale for e in entitlements),
        )

    async def watch_entitlements(
        self, caller: Caller, request: gw.WatchEntitlementsRequest
    ) -> AsyncIterator[gw.WatchEntitlementsResponse]:
        """The customer's decisions now, then after each change (authorized and checked before the first)."""
        authorize(caller.principal, Permission.CHECK_ACCESS, customer_id=request.customer_id)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        return self._watched(caller, request.customer_id)

    async def _watched(self, caller: Caller, customer_id: str) -> AsyncIterator[gw.WatchEntitlementsResponse]:
        """Read on every wake-up, sent only when the decisions differ from the last ones sent.

        The first read waits for no consistency token: a write of the caller not applied yet arrives as a change.
        NOTE: after a change the set is read at once and again `settle_seconds` later, so a change another
        entitlement replica applied a little later still reaches the watcher.
        """
        # NOTE: read after the servicer's call returned: the stream runs in the caller's tenant.
        with caller.scope(), self.reader.changes.watch((caller.principal.tenant_id, customer_id)) as changed:
            sent: list[gw.AccessDecision] | None = None
            wait = self.watch_resync_seconds
            while True:
                changed.clear()
                state = await self._entitlement_state(customer_id)
                if sent != list(state.decisions):
                    sent = list(state.decisions)
                    yield state
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await changed.wait()
                wait = self.reader.settle_seconds if changed.is_set() else self.watch_resync_seconds

    async def _entitlement_state(self, customer_id: str) -> gw.WatchEntitlementsResponse:
        state = gw.WatchEntitlementsResponse()
        page_token = ""
        while True:
            answer = await self.peers.entitlement.ListEntitlements(
                ent.ListEntitlementsRequest(customer_id=customer_id, page_size=WATCH_PAGE_SIZE, page_token=page_token)
            )
            state.decisions.extend(proto.access_decision(e.access.feature_key, e.access) for e in answer.entitlements)
            state.consistency_token = answer.consistency_token
            if not answer.next_page_token:
                return state
            page_token = answer.next_page_token
