"""gRPC EntitlementService: translates protobuf requests to use cases and answers back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from google.protobuf.message import Message

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte_entitlement.adapters.messages import (
    KIND_OF,
    check_response,
    drift_report,
    feature_access,
    from_timestamp,
    grant_to_proto,
    member_to_proto,
    suspension_to_proto,
    timestamp,
)
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.service_layer import drift_repair, groups, manual_grants, usage_controls
from azotte_entitlement.service_layer.lifecycle_events import PlanFeatures
from azotte_entitlement.service_layer.unit_of_work import EntitlementUnitOfWork
from azotte_platform.clock import Clock
from azotte_platform.context import PRINCIPAL_HEADER, current, require_tenant
from azotte_platform.errors import InvalidArgument
from azotte_platform.idempotency import run_once
from azotte_platform.paging import decode_page_token, encode_page_token, page_size

R = TypeVar("R", bound=Message)
Work = Callable[[EntitlementUnitOfWork], Awaitable[R]]


class EntitlementServicer(entitlement_pb2_grpc.EntitlementServiceServicer):
    """Checks answer from the in-memory projection; changes go through units of work."""

    def __init__(
        self,
        uow_factory: Callable[[], EntitlementUnitOfWork],
        projection: AccessProjection,
        plans: PlanFeatures,
        clock: Clock,
        invite_ttl: timedelta,
    ):
        self._uow = uow_factory
        self._projection = projection
        self._plans = plans
        self._clock = clock
        self._invite_ttl = invite_ttl

    # --- access checks (hot path: memory only) -------------------------------------------------------

    async def CheckAccess(self, request: pb.CheckAccessRequest, context: Any) -> pb.CheckAccessResponse:
        tenant_id = require_tenant()
        _require(customer_id=request.customer_id, feature_key=request.feature_key)
        decision = self._projection.check(tenant_id, request.customer_id, request.feature_key, self._clock.now())
        return check_response(decision)

    async def BatchCheckAccess(self, request: pb.BatchCheckAccessRequest, context: Any) -> pb.BatchCheckAccessResponse:
        tenant_id = require_tenant()
        _require(customer_id=request.customer_id)
        if not request.feature_keys or not all(request.feature_keys):
            raise InvalidArgument.field("feature_keys", "must list at least one non-empty feature key")
        decisions = self._projection.check_many(tenant_id, request.customer_id, request.feature_keys, self._clock.now())
        return pb.BatchCheckAccessResponse(results=[feature_access(d) for d in decisions])

    async def ListEntitlements(self, request: pb.ListEntitlementsRequest, context: Any) -> pb.ListEntitlementsResponse:
        tenant_id = require_tenant()
        _require(customer_id=request.customer_id)
        size = page_size(request.page_size)
        query = (tenant_id, request.customer_id)
        after = decode_page_token(request.page_token, query)
        decisions = self._projection.list_entitlements(tenant_id, request.customer_id, self._clock.now())
        if after:
            decisions = [d for d in decisions if d.feature_key > str(after[0])]
        page = decisions[:size]
        grants = self._projection.grants_of(tenant_id, request.customer_id)
        return pb.ListEntitlementsResponse(
            entitlements=[
                pb.Entitlement(
                    access=feature_access(d),
                    grants=[grant_to_proto(g) for g in grants if g.feature_key == d.feature_key],
                )
                for d in page
            ],
            next_page_token=encode_page_token([page[-1].feature_key], query) if len(decisions) > size else "",
        )

    # --- manual grants ---------------------------------------------------------------------------------

    async def CreateManualGrant(
        self, request: pb.CreateManualGrantRequest, context: Any
    ) -> pb.CreateManualGrantResponse:
        tenant_id = require_tenant()
        command = manual_grants.ManualGrantCommand(
            request_id=request.request_id,
            customer_id=request.customer_id,
            feature_key=request.feature_key,
            kind=KIND_OF.get(request.kind),
            valid_from=from_timestamp(request.valid_from) if request.HasField("valid_from") else None,
            valid_until=from_timestamp(request.valid_until) if request.HasField("valid_until") else None,
            limit=request.limit if request.HasField("limit") else None,
            reason=request.reason,
        )

        async def work(uow: EntitlementUnitOfWork) -> pb.CreateManualGrantResponse:
            grant = await manual_grants.create_manual_grant(uow, self._projection, tenant_id, _actor(), command)
            return pb.CreateManualGrantResponse(grant=grant_to_proto(grant))

        return await self._once("CreateManualGrant", request, pb.CreateManualGrantResponse, work)

    async def RevokeGrant(self, request: pb.RevokeGrantRequest, context: Any) -> pb.RevokeGrantResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.RevokeGrantResponse:
            grant = await manual_grants.revoke_grant(
                uow, self._projection, tenant_id, _actor(), request.grant_id, request.reason
            )
            return pb.RevokeGrantResponse(grant=grant_to_proto(grant))

        return await self._once("RevokeGrant", request, pb.RevokeGrantResponse, work)

    # --- groups ----------------------------------------------------------------------------------------

    async def AddGroupMember(self, request: pb.AddGroupMemberRequest, context: Any) -> pb.AddGroupMemberResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.AddGroupMemberResponse:
            member = await groups.add_member(uow, self._projection, tenant_id, request.group_id, request.customer_id)
            return pb.AddGroupMemberResponse(member=member_to_proto(member))

        return await self._once("AddGroupMember", request, pb.AddGroupMemberResponse, work)

    async def RemoveGroupMember(
        self, request: pb.RemoveGroupMemberRequest, context: Any
    ) -> pb.RemoveGroupMemberResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.RemoveGroupMemberResponse:
            member = await groups.remove_member(uow, self._projection, tenant_id, request.group_id, request.customer_id)
            return pb.RemoveGroupMemberResponse(member=member_to_proto(member))

        return await self._once("RemoveGroupMember", request, pb.RemoveGroupMemberResponse, work)

    async def ListGroupMembers(self, request: pb.ListGroupMembersRequest, context: Any) -> pb.ListGroupMembersResponse:
        tenant_id = require_tenant()
        size = page_size(request.page_size)
        query = (tenant_id, request.group_id)
        after = decode_page_token(request.page_token, query)
        async with self._uow() as uow:
            view = await groups.view_group(uow, tenant_id, request.group_id)
        members = sorted(view.group.members.values(), key=lambda m: m.customer_id)
        if after:
            members = [m for m in members if m.customer_id > str(after[0])]
        page = members[:size]
        return pb.ListGroupMembersResponse(
            members=[member_to_proto(m) for m in page],
            next_page_token=encode_page_token([page[-1].customer_id], query) if len(members) > size else "",
            owner_customer_id=view.group.owner_customer_id,
            seat_limit=view.seat_limit,
            seats_used=view.seats_used,
        )

    async def CreateGroupInvite(
        self, request: pb.CreateGroupInviteRequest, context: Any
    ) -> pb.CreateGroupInviteResponse:
        tenant_id = require_tenant()
        expires_at = from_timestamp(request.expire_time) if request.HasField("expire_time") else None

        async def work(uow: EntitlementUnitOfWork) -> pb.CreateGroupInviteResponse:
            invite = await groups.create_invite(uow, tenant_id, request.group_id, expires_at, self._invite_ttl)
            return pb.CreateGroupInviteResponse(
                invite=pb.GroupInvite(
                    code=invite.code, group_id=request.group_id, expire_time=timestamp(invite.expires_at)
                )
            )

        return await self._once("CreateGroupInvite", request, pb.CreateGroupInviteResponse, work)

    async def AcceptGroupInvite(
        self, request: pb.AcceptGroupInviteRequest, context: Any
    ) -> pb.AcceptGroupInviteResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.AcceptGroupInviteResponse:
            group_id, member = await groups.accept_invite(
                uow, self._projection, tenant_id, request.code, request.customer_id
            )
            return pb.AcceptGroupInviteResponse(group_id=group_id, member=member_to_proto(member))

        return await self._once("AcceptGroupInvite", request, pb.AcceptGroupInviteResponse, work)

    # --- usage controls --------------------------------------------------------------------------------

    async def SuspendFeature(self, request: pb.SuspendFeatureRequest, context: Any) -> pb.SuspendFeatureResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.SuspendFeatureResponse:
            suspension = await usage_controls.suspend_feature(
                uow, self._projection, tenant_id, request.customer_id, request.feature_key, request.reason
            )
            return pb.SuspendFeatureResponse(suspension=suspension_to_proto(request.customer_id, suspension))

        return await self._once("SuspendFeature", request, pb.SuspendFeatureResponse, work)

    async def RestoreFeature(self, request: pb.RestoreFeatureRequest, context: Any) -> pb.RestoreFeatureResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.RestoreFeatureResponse:
            lifted = await usage_controls.restore_feature(
                uow, self._projection, tenant_id, request.customer_id, request.feature_key
            )
            return pb.RestoreFeatureResponse(suspension=suspension_to_proto(request.customer_id, lifted))

        return await self._once("RestoreFeature", request, pb.RestoreFeatureResponse, work)

    async def RecordUsage(self, request: pb.RecordUsageRequest, context: Any) -> pb.RecordUsageResponse:
        tenant_id = require_tenant()
        period_start = from_timestamp(request.period_start_time) if request.HasField("period_start_time") else None

        async def work(uow: EntitlementUnitOfWork) -> pb.RecordUsageResponse:
            await usage_controls.record_usage(
                uow, self._projection, tenant_id, request.customer_id, request.feature_key, request.used, period_start
            )
            return pb.RecordUsageResponse()

        return await self._once("RecordUsage", request, pb.RecordUsageResponse, work)

    # --- drift -----------------------------------------------------------------------------------------

    async def ReconcileDrift(self, request: pb.ReconcileDriftRequest, context: Any) -> pb.ReconcileDriftResponse:
        tenant_id = require_tenant()

        async def work(uow: EntitlementUnitOfWork) -> pb.ReconcileDriftResponse:
            outcome = await drift_repair.reconcile_drift(
                uow,
                self._projection,
                self._plans,
                tenant_id,
                request.customer_id or None,
                validate_only=request.validate_only,
            )
            report = outcome.report
            return pb.ReconcileDriftResponse(
                report=drift_report(report.granted, report.revoked, report.changed, outcome.checked_customers)
            )

        return await self._once("ReconcileDrift", request, pb.ReconcileDriftResponse, work)

    async def _once(self, operation: str, request: Message, response_type: type[R], work: Work[R]) -> R:
        """Run a mutating use case once per request id, in one unit of work."""
        tenant_id = require_tenant()
        async with self._uow() as uow:
            return await run_once(uow, tenant_id, operation, request, response_type, lambda: work(uow))


def _actor() -> str:
    """The operator making a manual change: the authenticated principal."""
    principal = current().principal
    if not principal:
        raise InvalidArgument.field(PRINCIPAL_HEADER, "a manual change must name the operator making it")
    return principal


def _require(**fields: str) -> None:
    for name, value in fields.items():
        if not value:
            raise InvalidArgument.field(name, "is required")
