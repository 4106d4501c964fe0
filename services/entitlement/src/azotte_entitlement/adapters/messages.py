"""Translation between domain objects and protobuf messages (API responses and event payloads)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import events_pb2
from azotte_entitlement.domain.access import AccessDecision, AccessReason, SourceRef
from azotte_entitlement.domain.events import (
    EntitlementDriftCorrected,
    EntitlementEvent,
    EntitlementGranted,
    EntitlementRevoked,
)
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantAudit, GrantSource
from azotte_entitlement.domain.groups import GroupMember
from azotte_entitlement.domain.suspension import Suspension
from azotte_platform.events.envelope import Event

REASONS = {
    AccessReason.NO_GRANT: pb.ACCESS_REASON_NO_GRANT,
    AccessReason.EXPIRED: pb.ACCESS_REASON_EXPIRED,
    AccessReason.ON_HOLD: pb.ACCESS_REASON_ON_HOLD,
    AccessReason.PAUSED: pb.ACCESS_REASON_PAUSED,
    AccessReason.QUOTA_EXHAUSTED: pb.ACCESS_REASON_QUOTA_EXHAUSTED,
    AccessReason.SUSPENDED: pb.ACCESS_REASON_SUSPENDED,
}
SOURCES = {
    GrantSource.SUBSCRIPTION: pb.GRANT_SOURCE_SUBSCRIPTION,
    GrantSource.GROUP: pb.GRANT_SOURCE_GROUP,
    GrantSource.PROMOTION: pb.GRANT_SOURCE_PROMOTION,
    GrantSource.PARTNER: pb.GRANT_SOURCE_PARTNER,
    GrantSource.MANUAL: pb.GRANT_SOURCE_MANUAL,
}
KINDS = {
    FeatureKind.BOOLEAN: pb.FEATURE_KIND_BOOLEAN,
    FeatureKind.QUOTA: pb.FEATURE_KIND_QUOTA,
    FeatureKind.SEATS: pb.FEATURE_KIND_SEATS,
}
KIND_OF = {value: kind for kind, value in KINDS.items()}


def timestamp(when: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(when)
    return stamp


def from_timestamp(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)


def audit_to_proto(audit: GrantAudit) -> pb.GrantAudit:
    return pb.GrantAudit(actor=audit.actor, time=timestamp(audit.at), reason=audit.reason)


def grant_to_proto(grant: Grant) -> pb.Grant:
    key = grant.key
    message = pb.Grant(
        grant_id=key.grant_id,
        customer_id=key.customer_id,
        feature_key=key.feature_key,
        kind=KINDS[grant.kind],
        source=pb.GrantSourceRef(source=SOURCES[key.source], source_ref=key.source_ref),
        valid_from=timestamp(grant.valid_from),
        limit=grant.limit,
    )
    if grant.valid_until is not None:
        message.valid_until.CopyFrom(timestamp(grant.valid_until))
    if grant.audit is not None:
        message.audit.CopyFrom(audit_to_proto(grant.audit))
    return message


def _sources(sources: Iterable[SourceRef]) -> list[pb.GrantSourceRef]:
    return [pb.GrantSourceRef(source=SOURCES[s.source], source_ref=s.source_ref) for s in sources]


def check_response(decision: AccessDecision) -> pb.CheckAccessResponse:
    """The CheckAccess answer (hot path: nothing but field copies)."""
    response = pb.CheckAccessResponse(
        allowed=decision.allowed,
        reason=REASONS[decision.reason] if decision.reason is not None else pb.ACCESS_REASON_UNSPECIFIED,
        limit=decision.limit,
        used=decision.used,
        remaining=decision.remaining,
        sources=_sources(decision.sources),
    )
    if decision.valid_until is not None:
        response.valid_until.CopyFrom(timestamp(decision.valid_until))
    return response


def feature_access(decision: AccessDecision) -> pb.FeatureAccess:
    message = pb.FeatureAccess(
        feature_key=decision.feature_key,
        allowed=decision.allowed,
        reason=REASONS[decision.reason] if decision.reason is not None else pb.ACCESS_REASON_UNSPECIFIED,
        limit=decision.limit,
        used=decision.used,
        remaining=decision.remaining,
        sources=_sources(decision.sources),
        kind=KINDS[decision.kind] if decision.kind is not None else pb.FEATURE_KIND_UNSPECIFIED,
    )
    if decision.valid_until is not None:
        message.valid_until.CopyFrom(timestamp(decision.valid_until))
    return message


def member_to_proto(member: GroupMember) -> pb.GroupMember:
    return pb.GroupMember(
        customer_id=member.customer_id, join_time=timestamp(member.joined_at), invite_code=member.invite_code or ""
    )


def suspension_to_proto(customer_id: str, suspension: Suspension) -> pb.FeatureSuspension:
    return pb.FeatureSuspension(
        customer_id=customer_id,
        feature_key=suspension.feature_key,
        reason=suspension.reason,
        suspend_time=timestamp(suspension.suspended_at),
    )


def drift_report(granted: int, revoked: int, changed: int, customers: int) -> pb.DriftReport:
    return pb.DriftReport(
        granted_count=granted, revoked_count=revoked, changed_count=changed, checked_customer_count=customers
    )


def outbox_event(tenant_id: str, event: EntitlementEvent) -> Event:
    """The outbox event of a domain event, about the customer it concerns."""
    if isinstance(event, EntitlementDriftCorrected):
        return Event(tenant_id, event.type, _drift_payload(event), about=event.customer_id or "")
    payload: Message
    if isinstance(event, EntitlementGranted):
        payload = events_pb2.EntitlementGranted(grant=grant_to_proto(event.grant))
    elif isinstance(event, EntitlementRevoked):
        payload = events_pb2.EntitlementRevoked(
            grant=grant_to_proto(event.grant),
            reason=REASONS[event.why_not] if event.why_not is not None else pb.ACCESS_REASON_UNSPECIFIED,
        )
        if event.audit is not None:
            payload.audit.CopyFrom(audit_to_proto(event.audit))
    else:
        payload = events_pb2.EntitlementChanged(
            grant=grant_to_proto(event.grant), previous=grant_to_proto(event.previous)
        )
    return Event(tenant_id, event.type, payload, about=event.grant.key.customer_id)


def _drift_payload(event: EntitlementDriftCorrected) -> events_pb2.EntitlementDriftCorrected:
    report = event.report
    payload = events_pb2.EntitlementDriftCorrected(
        customer_id=event.customer_id or "",
        report=pb.DriftReport(granted_count=report.granted, revoked_count=report.revoked, changed_count=report.changed),
    )
    for correction in event.corrections:
        target = {"grant": payload.granted, "revoke": payload.revoked, "change": payload.changed}[correction.kind]
        target.append(grant_to_proto(correction.grant))
    return payload
