"""Events the entitlement service publishes: grant changes, drift corrections, suspensions, usage, withheld access."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.drift import Correction, CorrectionKind, DriftReport
from azotte_entitlement.domain.grants import Grant, GrantAudit
from azotte_entitlement.domain.suspension import Suspension


@dataclass(frozen=True, slots=True)
class EntitlementGranted:
    """A customer received a grant."""

    type: ClassVar[str] = "entitlement.granted"
    grant: Grant
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class EntitlementRevoked:
    """A grant was removed; `why_not` is the lifecycle reason, `audit` who revoked it by hand."""

    type: ClassVar[str] = "entitlement.revoked"
    grant: Grant
    occurred_at: datetime
    why_not: AccessReason | None = None
    audit: GrantAudit | None = None


@dataclass(frozen=True, slots=True)
class EntitlementChanged:
    """A grant's limit or validity window changed."""

    type: ClassVar[str] = "entitlement.changed"
    grant: Grant
    previous: Grant
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class EntitlementDriftCorrected:
    """Reconciliation found actual grants differing from desired ones and corrected them."""

    type: ClassVar[str] = "entitlement.drift_corrected"
    tenant_id: str
    customer_id: str | None
    report: DriftReport
    corrections: tuple[Correction, ...]
    occurred_at: datetime


@dataclass(frozen=True, slots=True)
class FeatureSuspended:
    """A feature was switched off for a customer."""

    type: ClassVar[str] = "entitlement.feature_suspended"
    tenant_id: str
    customer_id: str
    suspension: Suspension


@dataclass(frozen=True, slots=True)
class FeatureRestored:
    """A feature's suspension was lifted."""

    type: ClassVar[str] = "entitlement.feature_restored"
    tenant_id: str
    customer_id: str
    suspension: Suspension


@dataclass(frozen=True, slots=True)
class UsageRecorded:
    """A customer's quota usage so far in a period (ending at period_end, if it has an end)."""

    type: ClassVar[str] = "entitlement.usage_recorded"
    tenant_id: str
    customer_id: str
    feature_key: str
    used: int
    period_start: datetime
    period_end: datetime | None = None


@dataclass(frozen=True, slots=True)
class AccessWithheld:
    """A subscription first seen without access: its customer learns why the plan's features are denied."""

    type: ClassVar[str] = "entitlement.access_withheld"
    tenant_id: str
    customer_id: str
    feature_keys: tuple[str, ...]
    why_not: AccessReason


GrantEvent = EntitlementGranted | EntitlementRevoked | EntitlementChanged
EntitlementEvent = (
    GrantEvent | EntitlementDriftCorrected | FeatureSuspended | FeatureRestored | UsageRecorded | AccessWithheld
)


def events_for(
    corrections: Iterable[Correction], now: datetime, revoked_by: GrantAudit | None = None
) -> list[GrantEvent]:
    """One granted/revoked/changed event per correction."""
    events: list[GrantEvent] = []
    for correction in corrections:
        if correction.kind is CorrectionKind.GRANT:
            events.append(EntitlementGranted(correction.grant, now))
        elif correction.kind is CorrectionKind.REVOKE:
            events.append(EntitlementRevoked(correction.grant, now, correction.why_not, revoked_by))
        elif correction.previous is not None:
            events.append(EntitlementChanged(correction.grant, correction.previous, now))
    return events


def drift_events(
    tenant_id: str, customer_id: str | None, corrections: Iterable[Correction], now: datetime
) -> list[EntitlementEvent]:
    """Events of a reconciliation: each correction, then one drift_corrected summary (none when no drift)."""
    applied = tuple(corrections)
    if not applied:
        return []
    summary = EntitlementDriftCorrected(tenant_id, customer_id, DriftReport.of(applied), applied, now)
    return [*events_for(applied, now), summary]
