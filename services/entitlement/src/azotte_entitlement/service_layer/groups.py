"""Families and groups: members join within the seat limit and share the owner's subscription features."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from azotte_entitlement.domain.derivation import member_grants
from azotte_entitlement.domain.drift import Correction, CorrectionKind
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantSource
from azotte_entitlement.domain.groups import Group, GroupInvite, GroupMember, seat_limit_of, seats_used
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.errors import GroupNotFound, InviteNotFound
from azotte_entitlement.ports import EntitlementUnitOfWork
from azotte_entitlement.service_layer.changes import apply_corrections
from azotte_platform.validation import require_fields


@dataclass(frozen=True)
class GroupView:
    """A group with its seat usage and the features it shares, for listing."""

    group: Group
    seat_limit: int
    seats_used: int
    pending_invites: int = 0
    shared_features: tuple[str, ...] = ()


async def add_member(
    uow: EntitlementUnitOfWork, projection: AccessProjection, tenant_id: str, group_id: str, customer_id: str
) -> GroupMember:
    """Add a customer to a group if a seat is free and give them the owner's shared features."""
    require_fields(group_id=group_id, customer_id=customer_id)
    now = uow.clock.now()
    group = await _locked_group(uow, tenant_id, group_id)
    await uow.groups.load_invites(group)
    owner_grants = await _owner_grants(uow, group)
    held = len(group.pending_invites(now))
    member = group.add_member(customer_id, seat_limit_of(owner_grants, now), now, held_by_invites=held)
    await _admit(uow, projection, group, member, owner_grants, now)
    return member


async def remove_member(
    uow: EntitlementUnitOfWork, projection: AccessProjection, tenant_id: str, group_id: str, customer_id: str
) -> GroupMember:
    """Remove a member; the features they had through the group go with them."""
    require_fields(group_id=group_id, customer_id=customer_id)
    group = await _locked_group(uow, tenant_id, group_id)
    member = group.remove_member(customer_id)
    await uow.groups.remove_member(group, customer_id)
    shared = await uow.grants.from_sources(tenant_id, [(GrantSource.GROUP, group.group_id)])
    corrections = [Correction(CorrectionKind.REVOKE, g) for g in shared if g.key.customer_id == customer_id]
    await apply_corrections(uow, projection, tenant_id, corrections, uow.clock.now())
    return member


async def create_invite(
    uow: EntitlementUnitOfWork, tenant_id: str, group_id: str, expires_at: datetime | None, default_ttl: timedelta
) -> GroupInvite:
    """A single-use code to join the group, holding a seat until accepted, revoked or expired."""
    require_fields(group_id=group_id)
    now = uow.clock.now()
    group = await _locked_group(uow, tenant_id, group_id)
    await uow.groups.load_invites(group)
    seat_limit = seat_limit_of(await _owner_grants(uow, group), now)
    invite = group.create_invite(secrets.token_urlsafe(9), now, expires_at or now + default_ttl, seat_limit)
    await uow.groups.add_invite(group, invite)
    return invite


async def accept_invite(
    uow: EntitlementUnitOfWork, projection: AccessProjection, tenant_id: str, code: str, customer_id: str
) -> tuple[str, GroupMember]:
    """Join a group with an invite code; returns the group id and the new member."""
    require_fields(code=code, customer_id=customer_id)
    group_id = await uow.groups.group_of_invite(tenant_id, code)
    if group_id is None:
        raise InviteNotFound(f"invite {code} does not exist")
    now = uow.clock.now()
    group = await _locked_group(uow, tenant_id, group_id)
    await uow.groups.load_invites(group)
    owner_grants = await _owner_grants(uow, group)
    member = group.accept_invite(code, customer_id, seat_limit_of(owner_grants, now), now)
    await uow.groups.mark_invite_accepted(group, code, customer_id)
    await _admit(uow, projection, group, member, owner_grants, now)
    return group.group_id, member


async def revoke_invite(uow: EntitlementUnitOfWork, tenant_id: str, group_id: str, code: str) -> GroupInvite:
    """Withdraw a pending invite: its code stops working and its seat is free again."""
    require_fields(group_id=group_id, code=code)
    group = await _locked_group(uow, tenant_id, group_id)
    await uow.groups.load_invites(group)
    invite = group.revoke_invite(code)
    await uow.groups.delete_invite(group, code)
    return invite


async def view_group(uow: EntitlementUnitOfWork, tenant_id: str, group_id: str) -> GroupView:
    """A group, its members, its seats and the features it shares."""
    require_fields(group_id=group_id)
    group = await uow.groups.get(tenant_id, group_id)
    if group is None:
        raise GroupNotFound(f"group {group_id} does not exist")
    return await _view(uow, group)


async def list_invites(uow: EntitlementUnitOfWork, tenant_id: str, group_id: str) -> list[GroupInvite]:
    """Every invite of a group still on record (revoked ones are gone)."""
    require_fields(group_id=group_id)
    group = await uow.groups.get(tenant_id, group_id)
    if group is None:
        raise GroupNotFound(f"group {group_id} does not exist")
    await uow.groups.load_invites(group)
    return list(group.invites.values())


async def groups_of_owner(uow: EntitlementUnitOfWork, tenant_id: str, owner_customer_id: str) -> list[GroupView]:
    """The groups a customer owns, with their seats."""
    require_fields(owner_customer_id=owner_customer_id)
    return [await _view(uow, group) for group in await uow.groups.of_owner(tenant_id, owner_customer_id)]


async def _view(uow: EntitlementUnitOfWork, group: Group) -> GroupView:
    now = uow.clock.now()
    await uow.groups.load_invites(group)
    owner_grants = await _owner_grants(uow, group)
    stored = await uow.subscriptions.get(group.tenant_id, group.subscription_id)
    # NOTE: the shared features come from the subscription's plan, not its live grants, so members of
    # a group on hold still see each feature they lost and why.
    features = stored.snapshot.features if stored is not None else ()
    shared = tuple(f.feature_key for f in features if f.kind is not FeatureKind.SEATS)
    return GroupView(
        group,
        seat_limit_of(owner_grants, now),
        seats_used(len(group.members)),
        len(group.pending_invites(now)),
        shared,
    )


async def _locked_group(uow: EntitlementUnitOfWork, tenant_id: str, group_id: str) -> Group:
    await uow.lock_tenant(tenant_id)
    group = await uow.groups.get(tenant_id, group_id, lock=True)
    if group is None:
        raise GroupNotFound(f"group {group_id} does not exist")
    return group


async def _owner_grants(uow: EntitlementUnitOfWork, group: Group) -> list[Grant]:
    return await uow.grants.from_sources(group.tenant_id, [(GrantSource.SUBSCRIPTION, group.subscription_id)])


async def _admit(
    uow: EntitlementUnitOfWork,
    projection: AccessProjection,
    group: Group,
    member: GroupMember,
    owner_grants: list[Grant],
    now: datetime,
) -> None:
    await uow.groups.add_member(group, member)
    newcomer = Group(
        group.group_id,
        group.tenant_id,
        group.owner_customer_id,
        group.subscription_id,
        {member.customer_id: member},
    )
    corrections = [Correction(CorrectionKind.GRANT, g) for g in member_grants(owner_grants, newcomer)]
    await apply_corrections(uow, projection, group.tenant_id, corrections, now)
