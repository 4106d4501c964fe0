"""Families and groups: a plan with seats lets its owner share its features with members."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_entitlement.domain.grants import FeatureKind, Grant
from azotte_entitlement.errors import (
    AlreadyAMember,
    InviteAlreadyUsed,
    InviteExists,
    InviteExpired,
    InviteNotFound,
    NotAMember,
    OwnerIsNotAMember,
    SeatLimitReached,
)
from azotte_platform.errors import InvalidArgument

OWNER_SEATS = 1


@dataclass(frozen=True, slots=True)
class GroupMember:
    """A customer sharing the owner's plan features."""

    customer_id: str
    joined_at: datetime
    invite_code: str | None = None


class InviteState(StrEnum):
    """Where an invite stands; a revoked invite is deleted, so it has no state."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class GroupInvite:
    """A single-use code that lets a customer join a group before it expires."""

    code: str
    created_at: datetime
    expires_at: datetime
    accepted_by: str | None = None

    def state_at(self, now: datetime) -> InviteState:
        """Accepted once used; otherwise pending until it expires."""
        if self.accepted_by is not None:
            return InviteState.ACCEPTED
        return InviteState.PENDING if now < self.expires_at else InviteState.EXPIRED


def seats_used(member_count: int) -> int:
    """Seats taken by a group; the owner always takes one."""
    # NOTE: the owner counts as one seat, so a 4-seat family plan has the owner and 3 members.
    return member_count + OWNER_SEATS


def check_seat_available(seat_limit: int, member_count: int, pending_invites: int = 0) -> None:
    """Raise when one more member (or invite) would exceed the seat limit; pending invites hold seats."""
    # NOTE: after a downgrade below the current group size, existing members stay; nobody new joins
    # until enough members leave.
    if seats_used(member_count) + pending_invites + 1 > seat_limit:
        held = f", {pending_invites} held by pending invites" if pending_invites else ""
        raise SeatLimitReached(
            f"all {seat_limit} seats are taken (the owner counts as one{held})",
            metadata={"seat_limit": str(seat_limit)},
        )


def seat_limit_of(owner_grants: Iterable[Grant], now: datetime) -> int:
    """The owner's seat limit now: the largest valid seats grant, 0 when the owner has none."""
    return max((g.limit or 0 for g in owner_grants if g.kind is FeatureKind.SEATS and g.is_valid_at(now)), default=0)


@dataclass
class Group:
    """The members sharing one owner's subscription; one group per subscription whose plan has seats."""

    group_id: str
    tenant_id: str
    owner_customer_id: str
    subscription_id: str
    members: dict[str, GroupMember] = field(default_factory=dict)
    invites: dict[str, GroupInvite] = field(default_factory=dict)

    def add_member(
        self,
        customer_id: str,
        seat_limit: int,
        now: datetime,
        invite_code: str | None = None,
        held_by_invites: int = 0,
    ) -> GroupMember:
        """Add a member if a seat is free (`held_by_invites` are held by pending invites); no one twice."""
        if not customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        if customer_id == self.owner_customer_id:
            raise OwnerIsNotAMember("the owner already holds a seat of the group")
        if customer_id in self.members:
            raise AlreadyAMember(f"customer {customer_id} is already a member")
        check_seat_available(seat_limit, len(self.members), held_by_invites)
        member = GroupMember(customer_id, now, invite_code)
        self.members[customer_id] = member
        return member

    def remove_member(self, customer_id: str) -> GroupMember:
        """Remove a member; their group grants go with them."""
        member = self.members.pop(customer_id, None)
        if member is None:
            raise NotAMember(f"customer {customer_id} is not a member of group {self.group_id}")
        return member

    def pending_invites(self, now: datetime) -> list[GroupInvite]:
        """Invites not accepted and not expired; each holds a seat."""
        return [i for i in self.invites.values() if i.state_at(now) is InviteState.PENDING]

    def create_invite(self, code: str, now: datetime, expires_at: datetime, seat_limit: int) -> GroupInvite:
        """Create an invite code if a seat is free for it (pending invites hold seats); codes are unique."""
        if not code:
            raise InvalidArgument.field("code", "is required")
        if expires_at <= now:
            raise InvalidArgument.field("expire_time", "must be in the future")
        if code in self.invites:
            raise InviteExists(f"invite {code} already exists")
        # NOTE: a pending invite holds a seat, so an accepted invite never finds the group full;
        # revoking an invite, or its expiry, frees the seat.
        check_seat_available(seat_limit, len(self.members), len(self.pending_invites(now)))
        invite = GroupInvite(code, now, expires_at)
        self.invites[code] = invite
        return invite

    def accept_invite(self, code: str, customer_id: str, seat_limit: int, now: datetime) -> GroupMember:
        """Join with an invite code: single use, before it expires, within the seat limit."""
        invite = self.invites.get(code)
        if invite is None:
            raise InviteNotFound(f"invite {code} does not exist")
        if invite.accepted_by is not None:
            raise InviteAlreadyUsed(f"invite {code} was already accepted")
        if now >= invite.expires_at:
            raise InviteExpired(f"invite {code} expired")
        # NOTE: this invite's own seat is the one it takes; other pending invites keep theirs.
        others = len(self.pending_invites(now)) - 1
        member = self.add_member(customer_id, seat_limit, now, invite_code=code, held_by_invites=others)
        self.invites[code] = GroupInvite(invite.code, invite.created_at, invite.expires_at, customer_id)
        return member

    def revoke_invite(self, code: str) -> GroupInvite:
        """Withdraw a pending invite; an accepted one is history (remove the member instead)."""
        invite = self.invites.get(code)
        if invite is None:
            raise InviteNotFound(f"invite {code} does not exist in group {self.group_id}")
        if invite.accepted_by is not None:
            raise InviteAlreadyUsed(f"invite {code} was already accepted; remove the member instead")
        del self.invites[code]
        return invite
