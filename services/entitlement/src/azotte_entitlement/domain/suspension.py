"""Usage-based suspension: one feature of one customer switched off with a reason until restored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.errors import FeatureNotSuspended, SuspensionReasonRequired
from azotte_platform.errors import InvalidArgument

USAGE_DENIALS = {
    "QUOTA_EXHAUSTED": AccessReason.QUOTA_EXHAUSTED,
    "SPEND_LIMIT_REACHED": AccessReason.SPEND_LIMIT_REACHED,
}
"""Reason prefixes (`SPEND_LIMIT_REACHED: ...`) of suspensions made by a usage limit, and the denial checks answer."""


@dataclass(frozen=True, slots=True)
class Suspension:
    """A feature switched off for a customer, whatever its grants say."""

    feature_key: str
    reason: str
    suspended_at: datetime

    @property
    def denial(self) -> AccessReason:
        """What a check answers: the usage limit named by the reason's prefix, else SUSPENDED."""
        code, colon, _ = self.reason.partition(":")
        return USAGE_DENIALS.get(code.strip(), AccessReason.SUSPENDED) if colon else AccessReason.SUSPENDED


def suspend(current: Suspension | None, feature_key: str, reason: str, now: datetime) -> Suspension:
    """Suspend a feature; an existing suspension is kept as is so repeated limit events are harmless."""
    if not feature_key:
        raise InvalidArgument.field("feature_key", "is required")
    if not reason.strip():
        raise SuspensionReasonRequired.field("reason", "a suspension needs a reason")
    if current is not None:
        return current
    return Suspension(feature_key, reason.strip(), now)


def restore(current: Suspension | None, feature_key: str) -> Suspension:
    """Check a feature can be restored and return the suspension being lifted."""
    if current is None:
        raise FeatureNotSuspended(f"feature {feature_key} is not suspended")
    return current
