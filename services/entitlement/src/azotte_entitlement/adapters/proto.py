"""All translation between protobuf and the domain: API messages, event payloads in and out, catalog plans."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from google.protobuf.message import Message

from azotte.catalog.v1 import catalog_pb2
from azotte.common.v1 import subscription_state_pb2
from azotte.entitlement.v1 import entitlement_pb2 as pb
from azotte.entitlement.v1 import events_pb2
from azotte.lifecycle.v1 import events_pb2 as lifecycle_events
from azotte_entitlement.domain.access import AccessDecision, AccessReason, SourceRef
from azotte_entitlement.domain.derivation import OwnFeature, PlanFeature, SubscriptionChange
from azotte_entitlement.domain.drift import Correction, CorrectionKind, DriftReport
from azotte_entitlement.domain.events import (
    AccessWithheld,
    EntitlementChanged,
    EntitlementDriftCorrected,
    EntitlementEvent,
    EntitlementGranted,
    EntitlementRevoked,
    FeatureRestored,
    FeatureSuspended,
    UsageRecorded,
)
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantAudit, GrantSource
from azotte_entitlement.domain.groups import Group, GroupInvite, GroupMember, InviteState
from azotte_entitlement.domain.suspension import Suspension
from azotte_platform.convert import enum_to_pb, optional_from_timestamp, optional_timestamp, timestamp
from azotte_platform.enums import SubscriptionState
from azotte_platform.events.envelope import Event, ReceivedEvent

# NOTE: enum maps are built once, so the access-check hot path only does dictionary lookups.
REASONS = {reason: enum_to_pb("ACCESS_REASON", reason, pb.AccessReason) for reason in AccessReason}
SOURCES = {source: enum_to_pb("GRANT_SOURCE", source, pb.GrantSource) for source in GrantSource}
KINDS = {kind: enum_to_pb("FEATURE_KIND", kind, pb.FeatureKind) for kind in FeatureKind}
_KIND_OF = {value: kind for kind, value in KINDS.items()}
_CATALOG_KINDS = {enum_to_pb("FEATURE_KIND", kind, catalog_pb2.FeatureKind): kind for kind in FeatureKind}
_STATES = {
    enum_to_pb("SUBSCRIPTION_STATE", state, subscription_state_pb2.SubscriptionState): state
    for state in SubscriptionState
}


# --- API messages ------------------------------------------------------------------------------------


def kind_from_pb(value: int) -> FeatureKind | None:
    """The feature kind a request names; None when unspecified or unknown (the use case says what is valid)."""
    return _KIND_OF.get(value)


def audit_to_pb(audit: GrantAudit) -> pb.GrantAudit:
    return pb.GrantAudit(actor=audit.actor, time=timestamp(audit.at), reason=audit.reason)


def grant_to_pb(grant: Grant) -> pb.Grant:
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
        message.audit.CopyFrom(audit_to_pb(grant.audit))
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
    if decision.usage_period_end is not None:
        response.usage_period_end.CopyFrom(timestamp(decision.usage_period_end))
    return response


def feature_access_to_pb(decision: AccessDecision) -> pb.FeatureAccess:
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
    if decision.usage_period_end is not None:
        message.usage_period_end.CopyFrom(timestamp(decision.usage_period_end))
    return message


def entitlement_to_pb(decision: AccessDecision, grants: Iterable[Grant]) -> pb.Entitlement:
    """One feature's answer and the customer's grants of that feature."""
    return pb.Entitlement(
        access=feature_access_to_pb(decision),
        grants=[grant_to_pb(g) for g in grants if g.feature_key == decision.feature_key],
    )


def member_to_pb(member: GroupMember, access: Iterable[AccessDecision] = ()) -> pb.GroupMember:
    """A member, with their access to the group's shared features when given."""
    return pb.GroupMember(
        customer_id=member.customer_id,
        join_time=timestamp(member.joined_at),
        invite_code=member.invite_code or "",
        access=[feature_access_to_pb(decision) for decision in access],
    )


INVITE_STATES = {
    InviteState.PENDING: pb.GROUP_INVITE_STATE_PENDING,
    InviteState.ACCEPTED: pb.GROUP_INVITE_STATE_ACCEPTED,
    InviteState.EXPIRED: pb.GROUP_INVITE_STATE_EXPIRED,
}


def invite_to_pb(group_id: str, invite: GroupInvite, now: datetime) -> pb.GroupInvite:
    """An invite and where it stands at `now`."""
    return pb.GroupInvite(
        code=invite.code,
        group_id=group_id,
        expire_time=timestamp(invite.expires_at),
        create_time=timestamp(invite.created_at),
        state=INVITE_STATES[invite.state_at(now)],
        accepted_customer_id=invite.accepted_by or "",
    )


def group_to_pb(group: Group, seat_limit: int, seats_used: int, pending_invites: int) -> pb.Group:
    """A group with its seats."""
    return pb.Group(
        group_id=group.group_id,
        owner_customer_id=group.owner_customer_id,
        subscription_id=group.subscription_id,
        seat_limit=seat_limit,
        seats_used=seats_used,
        pending_invite_count=pending_invites,
    )


def suspension_to_pb(customer_id: str, suspension: Suspension) -> pb.FeatureSuspension:
    return pb.FeatureSuspension(
        customer_id=customer_id,
        feature_key=suspension.feature_key,
        reason=suspension.reason,
        suspend_time=timestamp(suspension.suspended_at),
    )


def drift_report_to_pb(report: DriftReport, checked_customers: int = 0) -> pb.DriftReport:
    return pb.DriftReport(
        granted_count=report.granted,
        revoked_count=report.revoked,
        changed_count=report.changed,
        checked_customer_count=checked_customers,
    )


def drift_correction_to_pb(correction: Correction) -> pb.DriftCorrection:
    message = pb.DriftCorrection(kind=_CORRECTION_KINDS[correction.kind], grant=grant_to_pb(correction.grant))
    if correction.previous is not None:
        message.previous.CopyFrom(grant_to_pb(correction.previous))
    return message


_CORRECTION_KINDS = {kind: enum_to_pb("DRIFT_CORRECTION_KIND", kind, pb.DriftCorrectionKind) for kind in CorrectionKind}


# --- events out --------------------------------------------------------------------------------------


def outbox_event(tenant_id: str, event: EntitlementEvent) -> Event:
    """The outbox event of a domain event, about the customer it concerns (`ce-subject`)."""
    payload: Message
    match event:
        case EntitlementGranted() | EntitlementRevoked() | EntitlementChanged():
            about, payload = event.grant.key.customer_id, _grant_payload(event)
        case EntitlementDriftCorrected():
            about, payload = event.customer_id or "", _drift_payload(event)
        case FeatureSuspended():
            about = event.customer_id
            payload = events_pb2.FeatureSuspended(suspension=suspension_to_pb(event.customer_id, event.suspension))
        case FeatureRestored():
            about = event.customer_id
            payload = events_pb2.FeatureRestored(suspension=suspension_to_pb(event.customer_id, event.suspension))
        case UsageRecorded():
            about = event.customer_id
            payload = events_pb2.UsageRecorded(
                customer_id=event.customer_id,
                feature_key=event.feature_key,
                used=event.used,
                period_start_time=timestamp(event.period_start),
                period_end_time=optional_timestamp(event.period_end),
            )
        case AccessWithheld():
            about = event.customer_id
            payload = events_pb2.AccessWithheld(
                customer_id=event.customer_id, feature_keys=event.feature_keys, reason=REASONS[event.why_not]
            )
    return Event(tenant_id, event.type, payload, about=about)


def _grant_payload(event: EntitlementGranted | EntitlementRevoked | EntitlementChanged) -> Message:
    if isinstance(event, EntitlementGranted):
        return events_pb2.EntitlementGranted(grant=grant_to_pb(event.grant))
    if isinstance(event, EntitlementChanged):
        return events_pb2.EntitlementChanged(grant=grant_to_pb(event.grant), previous=grant_to_pb(event.previous))
    payload = events_pb2.EntitlementRevoked(
        grant=grant_to_pb(event.grant),
        reason=REASONS[event.why_not] if event.why_not is not None else pb.ACCESS_REASON_UNSPECIFIED,
    )
    if event.audit is not None:
        payload.audit.CopyFrom(audit_to_pb(event.audit))
    return payload


def _drift_payload(event: EntitlementDriftCorrected) -> events_pb2.EntitlementDriftCorrected:
    payload = events_pb2.EntitlementDriftCorrected(
        customer_id=event.customer_id or "", report=drift_report_to_pb(event.report)
    )
    for correction in event.corrections:
        target = {"grant": payload.granted, "revoke": payload.revoked, "change": payload.changed}[correction.kind]
        target.append(grant_to_pb(correction.grant))
    return payload


# --- events and answers in ---------------------------------------------------------------------------


def subscription_change(event: ReceivedEvent) -> SubscriptionChange | None:
    """A lifecycle `SubscriptionEvent` as a domain value; None when it names no subscription, customer or state."""
    payload = event.payload(lifecycle_events.SubscriptionEvent)
    subscription = payload.subscription
    state = _STATES.get(subscription.state)
    if not subscription.id or not subscription.customer_id or state is None:
        return None
    return SubscriptionChange(
        event_type=event.type,
        tenant_id=event.tenant_id,
        subscription_id=subscription.id,
        customer_id=subscription.customer_id,
        plan_id=subscription.plan_id,
        state=state,
        cancel_at_period_end=subscription.cancel_at_period_end,
        # NOTE: grants start at the subscription's creation, else at its period start, else at the event.
        started_at=optional_from_timestamp(subscription, "create_time")
        or optional_from_timestamp(subscription, "current_period_start_time"),
        current_period_end=optional_from_timestamp(subscription, "current_period_end_time"),
        cause=payload.cause,
        occurred_at=optional_from_timestamp(payload, "occur_time") or event.time,
        own_features=tuple(
            OwnFeature(f.feature_key, f.limit if f.HasField("limit") else None) for f in subscription.features
        ),
    )


def feature_kind_from_catalog(value: int) -> FeatureKind:
    """The kind of a catalog feature; unspecified is boolean."""
    return _CATALOG_KINDS.get(value, FeatureKind.BOOLEAN)


def plan_feature(grant: catalog_pb2.FeatureGrant, kind: FeatureKind) -> PlanFeature:
    """A catalog plan's feature grant, with the feature's kind."""
    return PlanFeature(grant.feature_key, kind, grant.limit if grant.HasField("limit") else None)
