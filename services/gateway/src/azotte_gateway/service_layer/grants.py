"""Entitlements by hand: comps, revocations, feature suspensions and drift reconciliation (entitlement does the work).

Every change names its write (`consistency_token`) and drops the customer from this replica's access cache, so
the caller's next checks reflect it at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import grants_pb2 as gr
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.access import AccessReader
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import convert
from azotte_platform.clock import Clock
from azotte_platform.errors import InvalidArgument
from azotte_platform.validation import field_names

# A comp always ends, at most this long after it starts.
MAX_GRANT_DAYS = 366
# Corrections listed in a reconciliation's answer (its counts are complete).
MAX_REPORTED_CORRECTIONS = 500
# Entitlement names a grant's window `valid_from`/`valid_until`; the public request `start_time`/`end_time`.
GRANT_FIELDS = {"valid_from": "start_time", "valid_until": "end_time"}


@dataclass(frozen=True)
class Grants:
    """CreateGrant, ListGrants, RevokeGrant, SuspendFeature, RestoreFeature, ReconcileGrants."""

    peers: Peers
    clock: Clock
    customers: KnownCustomers
    access: AccessReader

    async def create_grant(self, caller: Caller, request: gr.CreateGrantRequest) -> gr.CreateGrantResponse:
        authorize(caller.principal, Permission.MANAGE_GRANTS)
        require_mutation(request, "customer_id", "reason")
        end = convert.optional_from_timestamp(request, "end_time")
        if end is None:
            raise InvalidArgument.field("end_time", "is required: a grant by hand always ends")
        start = convert.optional_from_timestamp(request, "start_time") or self.clock.now()
        if end <= max(start, self.clock.now()):
            raise InvalidArgument.field("end_time", "must be in the future and after start_time")
        if end - start > timedelta(days=MAX_GRANT_DAYS):
            raise InvalidArgument.field("end_time", f"must be at most {MAX_GRANT_DAYS} days after the start")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        grant = ent.CreateManualGrantRequest(
            request_id=request.request_id,
            customer_id=request.customer_id,
            feature_keys=request.feature_keys,
            plan_id=request.plan_id,
            valid_until=request.end_time,
            reason=request.reason,
        )
        if request.HasField("start_time"):
            grant.valid_from.CopyFrom(request.start_time)
        if request.HasField("limit"):
            grant.limit = request.limit
        with field_names(GRANT_FIELDS):
            answer = await self.peers.entitlement.CreateManualGrant(grant)
        self.access.wrote(caller, request.customer_id, answer.consistency_token)
        return gr.CreateGrantResponse(
            grants=[proto.grant(g) for g in answer.grants], consistency_token=answer.consistency_token
        )

    async def list_grants(self, caller: Caller, request: gr.ListGrantsRequest) -> gr.ListGrantsResponse:
        authorize(caller.principal, Permission.READ_GRANTS)
        require(request, "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.ListGrants(
            ent.ListGrantsRequest(
                customer_id=request.customer_id,
                page_size=request.page_size,
                page_token=request.page_token,
                filter=request.filter,
                order_by=request.order_by,
            )
        )
        return gr.ListGrantsResponse(
            grants=[proto.grant(g) for g in answer.grants], next_page_token=answer.next_page_token
        )

    async def revoke_grant(self, caller: Caller, request: gr.RevokeGrantRequest) -> gr.RevokeGrantResponse:
        authorize(caller.principal, Permission.MANAGE_GRANTS)
        require_mutation(request, "customer_id", "grant_id", "reason")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.RevokeGrant(
            ent.RevokeGrantRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                grant_id=request.grant_id,
                reason=request.reason,
            )
        )
        self.access.wrote(caller, request.customer_id, answer.consistency_token)
        return gr.RevokeGrantResponse(grant=proto.grant(answer.grant), consistency_token=answer.consistency_token)

    async def suspend_feature(self, caller: Caller, request: gr.SuspendFeatureRequest) -> gr.SuspendFeatureResponse:
        authorize(caller.principal, Permission.SUSPEND_FEATURES)
        require_mutation(request, "customer_id", "feature_key", "reason")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.SuspendFeature(
            ent.SuspendFeatureRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                feature_key=request.feature_key,
                reason=request.reason,
            )
        )
        self.access.wrote(caller, request.customer_id, answer.consistency_token)
        return gr.SuspendFeatureResponse(
            suspension=proto.feature_suspension(answer.suspension), consistency_token=answer.consistency_token
        )

    async def restore_feature(self, caller: Caller, request: gr.RestoreFeatureRequest) -> gr.RestoreFeatureResponse:
        authorize(caller.principal, Permission.SUSPEND_FEATURES)
        require_mutation(request, "customer_id", "feature_key")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.RestoreFeature(
            ent.RestoreFeatureRequest(
                request_id=request.request_id, customer_id=request.customer_id, feature_key=request.feature_key
            )
        )
        self.access.wrote(caller, request.customer_id, answer.consistency_token)
        return gr.RestoreFeatureResponse(
            suspension=proto.feature_suspension(answer.suspension), consistency_token=answer.consistency_token
        )

    async def reconcile_grants(self, caller: Caller, request: gr.ReconcileGrantsRequest) -> gr.ReconcileGrantsResponse:
        # NOTE: one customer is support work; the whole tenant takes its grant lock and is an admin's call.
        scope = Permission.RECONCILE_GRANTS if request.customer_id else Permission.RECONCILE_ALL_GRANTS
        authorize(caller.principal, scope)
        require_mutation(request)
        if request.customer_id:
            await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.ReconcileDrift(
            ent.ReconcileDriftRequest(
                request_id=request.request_id, customer_id=request.customer_id, validate_only=request.validate_only
            )
        )
        report = answer.report
        found = report.granted_count + report.revoked_count + report.changed_count
        if not request.validate_only:
            for customer_id in {c.grant.customer_id for c in answer.corrections}:
                self.access.wrote(caller, customer_id, answer.consistency_token)
        return gr.ReconcileGrantsResponse(
            checked_customer_count=report.checked_customer_count,
            granted_count=report.granted_count,
            revoked_count=report.revoked_count,
            changed_count=report.changed_count,
            corrected=found > 0 and not request.validate_only,
            corrections=[proto.grant_correction(c) for c in answer.corrections[:MAX_REPORTED_CORRECTIONS]],
            consistency_token=answer.consistency_token,
        )
