"""Grants: one source giving one customer one feature for a validity window, with an optional limit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_entitlement.errors import InvalidGrant, InvalidRevocation
from azotte_platform.errors import FieldViolation

_GRANT_ID_NAMESPACE = uuid.UUID("6f1c2a4e-0d0b-5b1e-9a57-3e6f2f0c9a11")


class GrantSource(StrEnum):
    """Where a grant comes from."""

    SUBSCRIPTION = "subscription"
    GROUP = "group"
    PROMOTION = "promotion"
    PARTNER = "partner"
    MANUAL = "manual"


class FeatureKind(StrEnum):
    """How grants of a feature combine: boolean (any), quota (sum), seats (max)."""

    BOOLEAN = "boolean"
    QUOTA = "quota"
    SEATS = "seats"


@dataclass(frozen=True, slots=True)
class GrantKey:
    """Identity of a grant: one source reference gives a customer a feature at most once."""

    tenant_id: str
    customer_id: str
    feature_key: str
    source: GrantSource
    source_ref: str

    @property
    def grant_id(self) -> str:
        """Stable id derived from the identity, so re-deriving a grant yields the same id."""
        name = "|".join((self.tenant_id, self.customer_id, self.feature_key, self.source, self.source_ref))
        return str(uuid.uuid5(_GRANT_ID_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class GrantAudit:
    """Who granted (or revoked) by hand, when and why."""

    actor: str
    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class Grant:
    """Access to a feature for a customer from one source, valid in [valid_from, valid_until)."""

    key: GrantKey
    kind: FeatureKind
    valid_from: datetime
    valid_until: datetime | None = None
    limit: int | None = None
    audit: GrantAudit | None = None

    @property
    def feature_key(self) -> str:
        """The feature this grant gives."""
        return self.key.feature_key

    def is_valid_at(self, now: datetime) -> bool:
        """Whether the grant gives access at `now` (open-ended when valid_until is None)."""
        return self.valid_from <= now and (self.valid_until is None or now < self.valid_until)

    def has_ended_by(self, now: datetime) -> bool:
        """Whether the window closed at or before `now`."""
        return self.valid_until is not None and self.valid_until <= now

    def same_terms(self, other: Grant) -> bool:
        """Whether two grants entitle the same way (kind, window, limit); audit is not compared."""
        return (
            self.kind == other.kind
            and self.valid_from == other.valid_from
            and self.valid_until == other.valid_until
            and self.limit == other.limit
        )


def validate_terms(
    kind: FeatureKind, valid_from: datetime, valid_until: datetime | None, limit: int | None
) -> list[FieldViolation]:
    """Field violations of a grant's window and limit (empty when valid)."""
    violations: list[FieldViolation] = []
    if valid_until is not None and valid_until <= valid_from:
        violations.append(FieldViolation("valid_until", "must be after valid_from"))
    if kind is FeatureKind.BOOLEAN and limit is not None:
        violations.append(FieldViolation("limit", "a boolean feature has no limit"))
    if kind is FeatureKind.QUOTA and limit is not None and limit < 0:
        violations.append(FieldViolation("limit", "a quota cannot be negative"))
    if kind is FeatureKind.SEATS and (limit is None or limit < 1):
        violations.append(FieldViolation("limit", "seats need a limit of at least 1"))
    return violations


def manual_grant(
    key: GrantKey,
    kind: FeatureKind,
    valid_from: datetime,
    valid_until: datetime | None,
    limit: int | None,
    actor: str,
    reason: str,
    now: datetime,
) -> Grant:
    """A grant made by an operator; who, when and why are mandatory and kept as its audit."""
    violations = validate_terms(kind, valid_from, valid_until, limit)
    if key.source is not GrantSource.MANUAL:
        violations.append(FieldViolation("source", "a manual grant has source manual"))
    if not actor.strip():
        violations.append(FieldViolation("actor", "the operator granting access must be named"))
    if not reason.strip():
        violations.append(FieldViolation("reason", "a manual grant needs a reason"))
    if violations:
        raise InvalidGrant("invalid manual grant", violations)
    return Grant(key, kind, valid_from, valid_until, limit, GrantAudit(actor, now, reason.strip()))


def revocation_audit(actor: str, reason: str, now: datetime) -> GrantAudit:
    """Who revoked a grant by hand, when and why; actor and reason are mandatory."""
    violations: list[FieldViolation] = []
    if not actor.strip():
        violations.append(FieldViolation("actor", "the operator revoking access must be named"))
    if not reason.strip():
        violations.append(FieldViolation("reason", "a revocation needs a reason"))
    if violations:
        raise InvalidRevocation("invalid revocation", violations)
    return GrantAudit(actor, now, reason.strip())
