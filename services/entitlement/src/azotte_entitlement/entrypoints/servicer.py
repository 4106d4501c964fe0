"""gRPC EntitlementService: translates protobuf requests to use cases and answers back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import entitlement_pb2_grpc
from azotte_entitlement.adapters import proto
from azotte_entitlement.domain.access import AccessDecision
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.ports import EntitlementUnitOfWork, PlanCatalog
from azotte_entitlement.service_layer import drift_repair, grant_listing, groups, manual_grants, usage_controls
from azotte_entitlement.service_layer.consistency import ConsistencyGate, name_write
from azotte_entitlement.service_layer.entitlement_listing import EntitlementQuery
from azotte_platform.clock import Clock
from azotte_platform.context import PRINCIPAL_HEADER, current, require_tenant
from azotte_platform.convert import optional_from_timestamp
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units
from azotte_platform.validation import require_fields


class EntitlementServicer(entitlement_pb2_grpc.EntitlementServiceServicer):
    """Checks answer from the in-memory projection; changes go through units of work."""

    def __init__(
        self,
        uow_factory: Callable[[], EntitlementUnitOfWork],
        projection: AccessProjection,
        plans: PlanCatalog,
        clock: Clock,
        invite_ttl: timedelta,
        consistency: ConsistencyGate,
    ):
        self.units = Units(uow_factory)
        self._consistency = consistency
        self._projection = projection
        self._plans = plans
        self._clock = clock
        self._invite_ttl = invite_ttl

    async def _name_write(self, uow: EntitlementUnitOfWork, tenant_id: str) -> str:
        """The consistency token of a write by hand (see `consistency.name_write`)."""
        return await name_write(uow, self._consistency, tenant_id)

    # --- access checks (hot path: memory only) -------------------------------------------------------

    async def CheckAccess(self, request: pb.CheckAccessRequest, context: Any) -> pb.CheckAccessResponse:
        tenant_id = require_tenant()
        require_fields(customer_id=request.customer_id, feature_key=request.feature_key)
        if request.consistency_token:
            # NOTE: only a check naming a write waits; without a token the check stays memory only.
            await self._consistency.reach((tenant_id, request.customer_id), request.consistency_token)
        decision = self._projection.check(tenant_id, request.customer_id, request.feature_key, self._clock.now())
        response = proto.check_response(decision)
        response.consistency_token = self._consistency.position()
        return response

    async def BatchCheckAccess(self, request: pb.BatchCheckAccessRequest, context: Any) -> pb.BatchCheckAccessResponse:
        tenant_id = require_tenant()
        require_fields(customer_id=request.customer_id)
        if not request.feature_keys or not all(request.feature_keys):
            raise InvalidArgument.field("feature_keys", "must list at least one non-empty feature key")
        if request.consistency_token:
            await self._consistency.reach((tenant_id, request.customer_id), request.consistency_token)
        decisions = self._projection.check_many(tenant_id, request.customer_id, request.feature_keys, self._clock.now())
        return pb.BatchCheckAccessResponse(
            results=[proto.feature_access_to_pb(d) for d in decisions], consistency_token=self._consistency.position()
        )

    async def ListEntitlements(self, request: pb.ListEntitlementsRequest, context: Any) -> pb.ListEntitlementsResponse:
        tenant_id = require_tenant()
        require_fields(customer_id=request.customer_id)
        query = EntitlementQuery(request, tenant_id, request.customer_id, request.filter, request.order_by)
        if request.consistency_token:
            await self._consistency.reach((tenant_id, request.customer_id), request.consistency_token)
        page = query.page(self._projection.list_entitlements(tenant_id, request.customer_id, self._clock.now()))
        grants = self._projection.grants_of(tenant_id, request.customer_id)
        return pb.ListEntitlementsResponse(
            entitlements=[proto.entitlement_to_pb(decision, grants) for decision in page.items],
            next_page_token=page.next_page_token,
            consistency_token=self._consistency.position(),
        )

    # --- manual grants ---------------------------------------------------------------------------------

    async def CreateManualGrant(
        self, request: pb.CreateManualGrantRequest, context: Any
    ) -> pb.CreateManualGrantResponse:
        command = manual_grants.ManualGrantCommand(
            request_id=request.request_id,
            customer_id=request.customer_id,
            feature_key=request.feature_key,
            kind=proto.kind_from_pb(request.kind),
            valid_from=optional_from_timestamp(request, "valid_from"),
            valid_until=optional_from_timestamp(request, "valid_until"),
            limit=request.limit if request.HasField("limit") else None,
            reason=request.reason,
            feature_keys=tuple(request.feature_keys),
            plan_id=request.plan_id,
        )

        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.CreateManualGrantResponse:
            grants = await manual_grants.create_manual_grant(
                uow, self._projection, self._plans, tenant_id, _actor(), command
            )
            messages = [proto.grant_to_pb(grant) for grant in grants]
            return pb.CreateManualGrantResponse(
                grant=messages[0], grants=messages, consistency_token=await self._name_write(uow, tenant_id)
            )

        return await self.units.mutate(request, pb.CreateManualGrantResponse, work)

    async def RevokeGrant(self, request: pb.RevokeGrantRequest, context: Any) -> pb.RevokeGrantResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.RevokeGrantResponse:
            grant = await manual_grants.revoke_grant(
                uow,
                self._projection,
                tenant_id,
                _actor(),
                request.grant_id,
                request.reason,
                customer_id=request.customer_id,
            )
            token = await self._name_write(uow, tenant_id)
            return pb.RevokeGrantResponse(grant=proto.grant_to_pb(grant), consistency_token=token)

        return await self.units.mutate(request, pb.RevokeGrantResponse, work)

    async def ListGrants(self, request: pb.ListGrantsRequest, context: Any) -> pb.ListGrantsResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.ListGrantsResponse:
            page = await grant_listing.list_grants(
                uow,
                tenant_id,
                request.customer_id,
                filter_text=request.filter,
                order_by=request.order_by,
                size=request.page_size,
                token=request.page_token,
            )
            return pb.ListGrantsResponse(
                grants=[proto.grant_to_pb(g) for g in page.items], next_page_token=page.next_page_token
            )

        return await self.units.read(work)

    # --- groups ----------------------------------------------------------------------------------------

    async def AddGroupMember(self, request: pb.AddGroupMemberRequest, context: Any) -> pb.AddGroupMemberResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.AddGroupMemberResponse:
            member = await groups.add_member(uow, self._projection, tenant_id, request.group_id, request.customer_id)
            return pb.AddGroupMemberResponse(member=proto.member_to_pb(member))

        return await self.units.mutate(request, pb.AddGroupMemberResponse, work)

    async def RemoveGroupMember(
        self, request: pb.RemoveGroupMemberRequest, context: Any
    ) -> pb.RemoveGroupMemberResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.RemoveGroupMemberResponse:
            member = await groups.remove_member(uow, self._projection, tenant_id, request.group_id, request.customer_id)
            return pb.RemoveGroupMemberResponse(member=proto.member_to_pb(member))

        return await self.units.mutate(request, pb.RemoveGroupMemberResponse, work)

    async def ListGroupMembers(self, request: pb.ListGroupMembersRequest, context: Any) -> pb.ListGroupMembersResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.ListGroupMembersResponse:
            paging = PageRequest.of(request, tenant_id, request.group_id)
            view = await groups.view_group(uow, tenant_id, request.group_id)
            page = paging.page_in_memory(view.group.members.values(), lambda member: member.customer_id)
            now = self._clock.now()

            def access(customer_id: str) -> list[AccessDecision]:
                return self._projection.check_many(tenant_id, customer_id, view.shared_features, now)

            return pb.ListGroupMembersResponse(
                members=[proto.member_to_pb(m, access(m.customer_id)) for m in page.items],
                next_page_token=page.next_page_token,
                owner_customer_id=view.group.owner_customer_id,
                seat_limit=view.seat_limit,
                seats_used=view.seats_used,
            )

        return await self.units.read(work)

    async def CreateGroupInvite(
        self, request: pb.CreateGroupInviteRequest, context: Any
    ) -> pb.CreateGroupInviteResponse:
        expires_at = optional_from_timestamp(request, "expire_time")

        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.CreateGroupInviteResponse:
            invite = await groups.create_invite(uow, tenant_id, request.group_id, expires_at, self._invite_ttl)
            return pb.CreateGroupInviteResponse(invite=proto.invite_to_pb(request.group_id, invite, uow.clock.now()))

        return await self.units.mutate(request, pb.CreateGroupInviteResponse, work)

    async def RevokeGroupInvite(
        self, request: pb.RevokeGroupInviteRequest, context: Any
    ) -> pb.RevokeGroupInviteResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.RevokeGroupInviteResponse:
            invite = await groups.revoke_invite(uow, tenant_id, request.group_id, request.code)
            return pb.RevokeGroupInviteResponse(invite=proto.invite_to_pb(request.group_id, invite, uow.clock.now()))

        return await self.units.mutate(request, pb.RevokeGroupInviteResponse, work)

    async def ListGroupInvites(self, request: pb.ListGroupInvitesRequest, context: Any) -> pb.ListGroupInvitesResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.ListGroupInvitesResponse:
            paging = PageRequest.of(request, tenant_id, request.group_id)
            invites = await groups.list_invites(uow, tenant_id, request.group_id)
            page = paging.page_in_memory(invites, lambda invite: invite.code)
            now = uow.clock.now()
            return pb.ListGroupInvitesResponse(
                invites=[proto.invite_to_pb(request.group_id, i, now) for i in page.items],
                next_page_token=page.next_page_token,
            )

        return await self.units.read(work)

    async def ListGroups(self, request: pb.ListGroupsRequest, context: Any) -> pb.ListGroupsResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.ListGroupsResponse:
            paging = PageRequest.of(request, tenant_id, request.owner_customer_id)
            views = await groups.groups_of_owner(uow, tenant_id, request.owner_customer_id)
            page = paging.page_in_memory(views, lambda view: view.group.group_id)
            return pb.ListGroupsResponse(
                groups=[proto.group_to_pb(v.group, v.seat_limit, v.seats_used, v.pending_invites) for v in page.items],
                next_page_token=page.next_page_token,
            )

        return await self.units.read(work)

    async def AcceptGroupInvite(
        self, request: pb.AcceptGroupInviteRequest, context: Any
    ) -> pb.AcceptGroupInviteResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.AcceptGroupInviteResponse:
            group_id, member = await groups.accept_invite(
                uow, self._projection, tenant_id, request.code, request.customer_id
            )
            return pb.AcceptGroupInviteResponse(group_id=group_id, member=proto.member_to_pb(member))

        return await self.units.mutate(request, pb.AcceptGroupInviteResponse, work)

    # --- usage controls --------------------------------------------------------------------------------

    async def SuspendFeature(self, request: pb.SuspendFeatureRequest, context: Any) -> pb.SuspendFeatureResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.SuspendFeatureResponse:
            suspension = await usage_controls.suspend_feature(
                uow, self._projection, tenant_id, request.customer_id, request.feature_key, request.reason
            )
            return pb.SuspendFeatureResponse(
                suspension=proto.suspension_to_pb(request.customer_id, suspension),
                consistency_token=await self._name_write(uow, tenant_id),
            )

        return await self.units.mutate(request, pb.SuspendFeatureResponse, work)

    async def RestoreFeature(self, request: pb.RestoreFeatureRequest, context: Any) -> pb.RestoreFeatureResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.RestoreFeatureResponse:
            lifted = await usage_controls.restore_feature(
                uow, self._projection, tenant_id, request.customer_id, request.feature_key
            )
            return pb.RestoreFeatureResponse(
                suspension=proto.suspension_to_pb(request.customer_id, lifted),
                consistency_token=await self._name_write(uow, tenant_id),
            )

        return await self.units.mutate(request, pb.RestoreFeatureResponse, work)

    async def RecordUsage(self, request: pb.RecordUsageRequest, context: Any) -> pb.RecordUsageResponse:
        period_start = optional_from_timestamp(request, "period_start_time")
        period_end = optional_from_timestamp(request, "period_end_time")

        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.RecordUsageResponse:
            await usage_controls.record_usage(
                uow,
                self._projection,
                tenant_id,
                request.customer_id,
                request.feature_key,
                request.used,
                period_start,
                period_end,
            )
            return pb.RecordUsageResponse()

        return await self.units.mutate(request, pb.RecordUsageResponse, work)

    # --- drift -----------------------------------------------------------------------------------------

    async def ReconcileDrift(self, request: pb.ReconcileDriftRequest, context: Any) -> pb.ReconcileDriftResponse:
        async def work(uow: EntitlementUnitOfWork, tenant_id: str) -> pb.ReconcileDriftResponse:
            outcome = await drift_repair.reconcile_drift(
                uow,
                self._projection,
                self._plans,
                tenant_id,
                request.customer_id or None,
                validate_only=request.validate_only,
            )
            return pb.ReconcileDriftResponse(
                report=proto.drift_report_to_pb(outcome.report, outcome.checked_customers),
                corrections=[proto.drift_correction_to_pb(c) for c in outcome.corrections],
                consistency_token=await self._name_write(uow, tenant_id),
            )

        return await self.units.mutate(request, pb.ReconcileDriftResponse, work)


def _actor() -> str:
    """The operator making a manual change: the authenticated principal."""
    principal = current().principal
    if not principal:
        raise InvalidArgument.field(PRINCIPAL_HEADER, "a manual change must name the operator making it")
    return principal
