"""Drift reconciliation corrects deliberately corrupted grants."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from azotte_entitlement.domain.derivation import (
    PlanFeature,
    SubscriptionSnapshot,
    desired_grants,
)
from azotte_entitlement.domain.drift import CorrectionKind, DriftReport, reconcile
from azotte_entitlement.domain.events import EntitlementDriftCorrected, drift_events
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource, manual_grant
from azotte_entitlement.domain.groups import Group
from azotte_entitlement.domain.projection import AccessProjection
from azotte_platform.enums import SubscriptionState

NOW = datetime(2025, 6, 1, tzinfo=UTC)
FEATURES = (
    PlanFeature("hd", FeatureKind.BOOLEAN),
    PlanFeature("tokens", FeatureKind.QUOTA, 1000),
    PlanFeature("seats", FeatureKind.SEATS, 3),
)


def desired() -> list[Grant]:
    snapshot = SubscriptionSnapshot(
        "t1", "sub-1", "owner", SubscriptionState.ACTIVE, False, NOW, NOW + timedelta(days=30), FEATURES
    )
    group = Group("grp-1", "t1", "owner", "sub-1")
    group.add_member("m1", 3, NOW)
    manual = manual_grant(
        GrantKey("t1", "owner", "4k", GrantSource.MANUAL, "m-1"),
        FeatureKind.BOOLEAN,
        NOW,
        None,
        None,
        "ops",
        "goodwill",
        NOW,
    )
    return desired_grants([snapshot], [group], [manual])


def test_consistent_grants_need_no_correction() -> None:
    assert reconcile(desired(), desired()) == []
    assert drift_events("t1", None, [], NOW) == []


def test_corrupted_grants_are_corrected_and_reported() -> None:
    wanted = desired()
    by_feature = {(g.key.customer_id, g.feature_key): g for g in wanted}
    stray = Grant(GrantKey("t1", "m1", "hd", GrantSource.SUBSCRIPTION, "sub-old"), FeatureKind.BOOLEAN, NOW)
    actual = [g for g in wanted if (g.key.customer_id, g.feature_key) != ("m1", "hd")]  # missing member grant
    actual = [replace(g, limit=5) if g is by_feature[("owner", "tokens")] else g for g in actual]  # wrong limit
    actual = [replace(g, valid_until=NOW) if g is by_feature[("owner", "hd")] else g for g in actual]  # wrong window
    actual.append(stray)  # extra grant

    corrections = reconcile(wanted, actual)

    assert DriftReport.of(corrections) == DriftReport(granted=1, revoked=1, changed=2)
    assert {(c.kind, c.grant.key.customer_id, c.grant.feature_key) for c in corrections} == {
        (CorrectionKind.GRANT, "m1", "hd"),
        (CorrectionKind.REVOKE, "m1", "hd"),
        (CorrectionKind.CHANGE, "owner", "tokens"),
        (CorrectionKind.CHANGE, "owner", "hd"),
    }


def test_applying_corrections_makes_the_projection_match_desired() -> None:
    wanted = desired()
    actual = [replace(g, limit=1) if g.kind is FeatureKind.QUOTA else g for g in wanted[1:]]
    projection = AccessProjection.from_state(actual)

    corrections = reconcile(wanted, projection.grants_of("t1", "owner") + projection.grants_of("t1", "m1"))
    projection.apply(corrections)
    events = drift_events("t1", None, corrections, NOW)

    remaining = projection.grants_of("t1", "owner") + projection.grants_of("t1", "m1")
    assert reconcile(wanted, remaining) == []
    summary = events[-1]
    assert isinstance(summary, EntitlementDriftCorrected) and summary.report.total == len(events) - 1
