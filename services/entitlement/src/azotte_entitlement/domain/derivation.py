"""Desired grants: from a lifecycle subscription snapshot, fanned out to group members."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.drift import Correction, reconcile
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource
from azotte_entitlement.domain.groups import Group
from azotte_platform.enums import SubscriptionState

# NOTE: an expiry caused by a refund or a revoke takes access away at once (no remembered reason).
REVOKING_CAUSES = frozenset({"refund", "refunded", "revoke", "revoked", "chargeback"})
# Why a check is denied while the subscription is in a state that removes access.
_DENIALS = {
    SubscriptionState.ON_HOLD: AccessReason.ON_HOLD,
    SubscriptionState.PAUSED: AccessReason.PAUSED,
    SubscriptionState.EXPIRED: AccessReason.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class PlanFeature:
    """A feature a plan includes (from the catalog); limit is the quota per period or the seat count.

    `own`: granted by the subscription itself besides its plan (a contract's custom feature), not by the catalog.
    """

    feature_key: str
    kind: FeatureKind
    limit: int | None = None
    own: bool = False


@dataclass(frozen=True, slots=True)
class OwnFeature:
    """A feature a lifecycle event says the subscription grants besides its plan: its key and limit."""

    feature_key: str
    limit: int | None = None


def with_own(plan: tuple[PlanFeature, ...], own: tuple[PlanFeature, ...]) -> tuple[PlanFeature, ...]:
    """The plan's features with the subscription's own on top: one of the same key replaces the plan's."""
    keys = {feature.feature_key for feature in own}
    return tuple(feature for feature in plan if feature.feature_key not in keys) + own


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """What lifecycle events tell about a subscription, as far as access is concerned."""

    tenant_id: str
    subscription_id: str
    customer_id: str
    state: SubscriptionState
    cancel_at_period_end: bool
    started_at: datetime
    current_period_end: datetime
    features: tuple[PlanFeature, ...]


@dataclass(frozen=True, slots=True)
class StoredSubscription:
    """A snapshot with the plan it is on, whether it was revoked, and the time of the event behind it."""

    snapshot: SubscriptionSnapshot
    plan_id: str
    revoked: bool
    event_time: datetime

    @property
    def own(self) -> tuple[PlanFeature, ...]:
        """The features it grants besides its plan (kept whatever the catalog says of the plan)."""
        return tuple(feature for feature in self.snapshot.features if feature.own)


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    """A lifecycle event about a subscription: its state right after the change, the change's cause, and the features
    it grants besides its plan's."""

    event_type: str
    tenant_id: str
    subscription_id: str
    customer_id: str
    plan_id: str
    state: SubscriptionState
    cancel_at_period_end: bool
    started_at: datetime | None
    current_period_end: datetime | None
    cause: str
    occurred_at: datetime
    own_features: tuple[OwnFeature, ...] = ()

    @property
    def revokes_access(self) -> bool:
        """Whether the change takes access away at once: an expiry caused by a refund, revoke or chargeback."""
        return self.event_type == "subscription.expired" and self.cause.lower() in REVOKING_CAUSES

    def snapshot(self, features: tuple[PlanFeature, ...]) -> SubscriptionSnapshot:
        """The subscription as far as access is concerned; missing times fall back to the event's."""
        return SubscriptionSnapshot(
            self.tenant_id,
            self.subscription_id,
            self.customer_id,
            self.state,
            self.cancel_at_period_end,
            self.started_at or self.occurred_at,
            self.current_period_end or self.occurred_at,
            features,
        )


@dataclass(frozen=True, slots=True)
class DesiredAccess:
    """Grants a subscription should give now, and the reason to remember when it gives none."""

    grants: tuple[Grant, ...]
    why_not: AccessReason | None = None


def subscription_grants(snapshot: SubscriptionSnapshot, *, revoked: bool = False) -> DesiredAccess:
    """Map a subscription snapshot to the grants it should give (`revoked` for refunds and revokes)."""
    if revoked:
        # NOTE: a refunded or revoked subscription gives nothing; the check answers no_grant.
        return DesiredAccess(())
    if not snapshot.state.entitled:
        # NOTE: on_hold, paused and expired remove access; the reason is remembered for the check.
        return DesiredAccess((), _DENIALS[snapshot.state])
    # NOTE: trialing, active and past_due (grace) keep access, open-ended: lifecycle owns renewals,
    # grace and expiry and tells us by events, so a late renewal event never cuts access. With
    # cancel_at_period_end access stops at the end of the paid period.
    valid_until = snapshot.current_period_end if snapshot.cancel_at_period_end else None
    grants = tuple(
        Grant(
            GrantKey(
                snapshot.tenant_id,
                snapshot.customer_id,
                feature.feature_key,
                GrantSource.SUBSCRIPTION,
                snapshot.subscription_id,
            ),
            feature.kind,
            snapshot.started_at,
            valid_until,
            feature.limit,
        )
        for feature in snapshot.features
    )
    return DesiredAccess(grants)


def member_grants(owner_grants: Iterable[Grant], group: Group) -> tuple[Grant, ...]:
    """Fan the owner's subscription grants out to every member, with source group and the same window."""
    shared = [
        grant
        for grant in owner_grants
        if grant.key.source is GrantSource.SUBSCRIPTION
        and grant.key.source_ref == group.subscription_id
        # NOTE: seats stay with the owner; members cannot add members of their own.
        and grant.kind is not FeatureKind.SEATS
    ]
    return tuple(
        Grant(
            GrantKey(group.tenant_id, member_id, grant.feature_key, GrantSource.GROUP, group.group_id),
            grant.kind,
            grant.valid_from,
            grant.valid_until,
            grant.limit,
        )
        for member_id in sorted(group.members)
        for grant in shared
    )


def subscription_corrections(
    snapshot: SubscriptionSnapshot,
    group: Group | None,
    actual: Iterable[Grant],
    *,
    revoked: bool = False,
) -> list[Correction]:
    """Changes a lifecycle event causes to the subscription's grants and its group members' grants."""
    desired = subscription_grants(snapshot, revoked=revoked)
    wanted = list(desired.grants)
    if group is not None:
        wanted.extend(member_grants(desired.grants, group))
    scoped = [grant for grant in actual if _derives_from(grant, snapshot.subscription_id, group)]
    return reconcile(wanted, scoped, desired.why_not)


def desired_grants(
    snapshots: Iterable[SubscriptionSnapshot],
    groups: Iterable[Group],
    standing: Iterable[Grant],
) -> list[Grant]:
    """Every grant that should exist: subscriptions, their group members, and manual/promo/partner grants."""
    by_subscription = {snapshot.subscription_id: subscription_grants(snapshot).grants for snapshot in snapshots}
    wanted = [grant for grants in by_subscription.values() for grant in grants]
    for group in groups:
        wanted.extend(member_grants(by_subscription.get(group.subscription_id, ()), group))
    wanted.extend(grant for grant in standing if grant.key.source not in (GrantSource.SUBSCRIPTION, GrantSource.GROUP))
    return wanted


def _derives_from(grant: Grant, subscription_id: str, group: Group | None) -> bool:
    """Whether a grant comes from this subscription, directly or through its group."""
    source, ref = grant.key.source, grant.key.source_ref
    if source is GrantSource.SUBSCRIPTION:
        return ref == subscription_id
    return group is not None and source is GrantSource.GROUP and ref == group.group_id
