"""Combining grants from several sources, quotas, suspensions and manual grants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from azotte_entitlement.domain.access import AccessReason, SourceRef
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource, manual_grant
from azotte_entitlement.domain.projection import AccessProjection
from azotte_entitlement.domain.suspension import restore, suspend
from azotte_platform.errors import FailedPrecondition, InvalidArgument

NOW = datetime(2025, 3, 1, tzinfo=UTC)


def grant(
    feature: str,
    source: GrantSource,
    ref: str,
    kind: FeatureKind = FeatureKind.BOOLEAN,
    limit: int | None = None,
    until: datetime | None = None,
) -> Grant:
    return Grant(GrantKey("t1", "c1", feature, source, ref), kind, NOW - timedelta(days=10), until, limit)


def test_boolean_feature_is_on_when_any_grant_is_valid_and_names_the_sources() -> None:
    projection = AccessProjection.from_state(
        [
            grant("hd", GrantSource.SUBSCRIPTION, "sub-1", until=NOW - timedelta(days=1)),
            grant("hd", GrantSource.PROMOTION, "promo-9", until=NOW + timedelta(days=5)),
            grant("hd", GrantSource.PARTNER, "telco-3"),
        ]
    )

    decision = projection.check("t1", "c1", "hd", NOW)

    assert decision.allowed
    assert decision.valid_until is None
    assert set(decision.sources) == {
        SourceRef(GrantSource.PROMOTION, "promo-9"),
        SourceRef(GrantSource.PARTNER, "telco-3"),
    }


def test_valid_until_is_the_latest_end_among_valid_grants() -> None:
    ends = [NOW + timedelta(days=3), NOW + timedelta(days=9)]
    projection = AccessProjection.from_state(
        [grant("hd", GrantSource.PROMOTION, f"p{i}", until=end) for i, end in enumerate(ends)]
    )

    assert projection.check("t1", "c1", "hd", NOW).valid_until == ends[1]


def test_quotas_add_up_across_grants_and_exhaust() -> None:
    projection = AccessProjection.from_state(
        [
            grant("tokens", GrantSource.SUBSCRIPTION, "sub-1", FeatureKind.QUOTA, 1000),
            grant("tokens", GrantSource.PROMOTION, "promo-1", FeatureKind.QUOTA, 500),
        ]
    )
    projection.record_usage("t1", "c1", "tokens", 1200, NOW - timedelta(days=1))

    partly = projection.check("t1", "c1", "tokens", NOW)
    projection.record_usage("t1", "c1", "tokens", 1500, NOW - timedelta(days=1))
    exhausted = projection.check("t1", "c1", "tokens", NOW)

    assert (partly.allowed, partly.limit, partly.used, partly.remaining) == (True, 1500, 1200, 300)
    assert not exhausted.allowed and exhausted.reason is AccessReason.QUOTA_EXHAUSTED
    assert exhausted.remaining == 0


def test_usage_of_a_new_period_replaces_the_old_and_late_reports_are_ignored() -> None:
    projection = AccessProjection.from_state([grant("tokens", GrantSource.SUBSCRIPTION, "s", FeatureKind.QUOTA, 100)])
    old_period, new_period = NOW - timedelta(days=31), NOW - timedelta(days=1)
    projection.record_usage("t1", "c1", "tokens", 100, old_period)
    projection.record_usage("t1", "c1", "tokens", 10, new_period)
    projection.record_usage("t1", "c1", "tokens", 100, old_period)

    assert projection.check("t1", "c1", "tokens", NOW).remaining == 90


def test_unlimited_quota_grant_makes_the_quota_unlimited() -> None:
    projection = AccessProjection.from_state(
        [
            grant("tokens", GrantSource.SUBSCRIPTION, "s", FeatureKind.QUOTA, 10),
            grant("tokens", GrantSource.MANUAL, "m", FeatureKind.QUOTA, None),
        ]
    )
    projection.record_usage("t1", "c1", "tokens", 50, NOW)

    decision = projection.check("t1", "c1", "tokens", NOW)
    assert decision.allowed and decision.limit is None and decision.used == 50


def test_seats_take_the_largest_grant() -> None:
    projection = AccessProjection.from_state(
        [
            grant("seats", GrantSource.SUBSCRIPTION, "s", FeatureKind.SEATS, 4),
            grant("seats", GrantSource.PROMOTION, "p", FeatureKind.SEATS, 6),
        ]
    )

    assert projection.check("t1", "c1", "seats", NOW).limit == 6


def test_no_grant_and_grant_not_yet_started_answer_no_grant() -> None:
    future = Grant(GrantKey("t1", "c1", "hd", GrantSource.PROMOTION, "p"), FeatureKind.BOOLEAN, NOW + timedelta(days=1))
    projection = AccessProjection.from_state([future])

    assert projection.check("t1", "c1", "hd", NOW).reason is AccessReason.NO_GRANT
    assert projection.check("t1", "other", "hd", NOW).reason is AccessReason.NO_GRANT


def test_suspension_denies_regardless_of_grants_until_restored() -> None:
    projection = AccessProjection.from_state([grant("tokens", GrantSource.SUBSCRIPTION, "s", FeatureKind.QUOTA, 100)])
    projection.suspend("t1", "c1", suspend(None, "tokens", "hard limit reached", NOW))

    suspended = projection.check("t1", "c1", "tokens", NOW)
    lifted = restore(projection.suspension("t1", "c1", "tokens"), "tokens")
    projection.restore("t1", "c1", "tokens")

    assert not suspended.allowed and suspended.reason is AccessReason.SUSPENDED
    assert lifted.reason == "hard limit reached"
    assert projection.check("t1", "c1", "tokens", NOW).allowed


def test_suspension_rules() -> None:
    first = suspend(None, "tokens", "limit", NOW)

    assert suspend(first, "tokens", "limit again", NOW + timedelta(hours=1)) is first
    with pytest.raises(InvalidArgument):
        suspend(None, "tokens", " ", NOW)
    with pytest.raises(FailedPrecondition):
        restore(None, "tokens")


def test_batch_and_list_answer_every_feature() -> None:
    projection = AccessProjection.from_state(
        [grant("hd", GrantSource.SUBSCRIPTION, "s"), grant("4k", GrantSource.SUBSCRIPTION, "s", until=NOW)]
    )

    batch = projection.check_many("t1", "c1", ["4k", "hd", "offline"], NOW)
    listed = projection.list_entitlements("t1", "c1", NOW)

    assert [(d.feature_key, d.allowed, d.reason) for d in batch] == [
        ("4k", False, AccessReason.EXPIRED),
        ("hd", True, None),
        ("offline", False, AccessReason.NO_GRANT),
    ]
    assert [d.feature_key for d in listed] == ["4k", "hd"]


def test_manual_grant_requires_reason_and_keeps_audit() -> None:
    key = GrantKey("t1", "c1", "hd", GrantSource.MANUAL, "m-1")

    made = manual_grant(key, FeatureKind.BOOLEAN, NOW, NOW + timedelta(days=7), None, "ops@acme", " goodwill ", NOW)

    assert made.audit is not None and (made.audit.actor, made.audit.reason) == ("ops@acme", "goodwill")
    with pytest.raises(InvalidArgument) as error:
        manual_grant(key, FeatureKind.QUOTA, NOW, NOW - timedelta(days=1), -5, "ops@acme", "", NOW)
    assert {v.field for v in error.value.violations} == {"valid_until", "limit", "reason"}
