"""Typed errors of the entitlement service: one class per reason, matched by type."""

from __future__ import annotations

from azotte_platform.errors import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unavailable,
)


class GrantNotFound(NotFound):
    """No grant has that id in the tenant."""

    reason = "GRANT_NOT_FOUND"


class GroupNotFound(NotFound):
    """No group has that id in the tenant."""

    reason = "GROUP_NOT_FOUND"


class InviteNotFound(NotFound):
    """No group invite has that code."""

    reason = "INVITE_NOT_FOUND"


class NotAMember(NotFound):
    """The customer is not a member of the group."""

    reason = "NOT_A_MEMBER"


class InvalidGrant(InvalidArgument):
    """A manual grant's kind, window, limit, actor or reason is invalid."""

    reason = "INVALID_GRANT"


class InvalidRevocation(InvalidArgument):
    """A revocation by hand names no operator or no reason."""

    reason = "INVALID_REVOCATION"


class SuspensionReasonRequired(InvalidArgument):
    """A feature suspension must say why."""

    reason = "SUSPENSION_REASON_REQUIRED"


class GrantIsDerived(FailedPrecondition):
    """Subscription and group grants follow their lifecycle and cannot be revoked by hand."""

    reason = "GRANT_IS_DERIVED"


class FeatureNotSuspended(FailedPrecondition):
    """The feature to restore is not suspended."""

    reason = "FEATURE_NOT_SUSPENDED"


class OwnerIsNotAMember(FailedPrecondition):
    """The group's owner already holds a seat and cannot join as a member."""

    reason = "OWNER_IS_NOT_A_MEMBER"


class InviteAlreadyUsed(FailedPrecondition):
    """The invite code was already accepted."""

    reason = "INVITE_ALREADY_USED"


class InviteExpired(FailedPrecondition):
    """The invite code expired."""

    reason = "INVITE_EXPIRED"


class AlreadyAMember(AlreadyExists):
    """The customer is already a member of the group."""

    reason = "ALREADY_A_MEMBER"


class InviteExists(AlreadyExists):
    """The group already has an invite with that code."""

    reason = "INVITE_EXISTS"


class SeatLimitReached(FailedPrecondition):
    """Every seat of the group is taken by the owner, members and pending invites (HTTP 409, not a rate limit)."""

    reason = "SEAT_LIMIT_REACHED"


class ConsistencyNotReached(Unavailable):
    """The access projection had not applied the write a consistency token names within the wait; retry."""

    reason = "CONSISTENCY_NOT_REACHED"
