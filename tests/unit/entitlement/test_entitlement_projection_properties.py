"""The projection kept current by changes answers like one rebuilt from the final grant set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from azotte_entitlement.domain.access import AccessReason
from azotte_entitlement.domain.grants import FeatureKind, Grant, GrantKey, GrantSource
from azotte_entitlement.domain.projection import AccessProjection

T0 = datetime(2025, 1, 1, tzinfo=UTC)
CUSTOMERS = ("c1", "c2")
FEATURES = {"hd": FeatureKind.BOOLEAN, "tokens": FeatureKind.QUOTA, "seats": FeatureKind.SEATS}
CHECK_TIMES = [T0 + timedelta(days=d) for d in (0, 5, 10, 20, 40)]

keys = st.builds(
    GrantKey,
    st.just("t1"),
    st.sampled_from(CUSTOMERS),
    st.sampled_from(sorted(FEATURES)),
    st.sampled_from(list(GrantSource)),
    st.sampled_from(["a", "b"]),
)


@st.composite
def grants(draw: st.DrawFn) -> Grant:
    key = draw(keys)
    kind = FEATURES[key.feature_key]
    start = T0 + timedelta(days=draw(st.integers(0, 15)))
    length = draw(st.none() | st.integers(1, 30))
    limit = None if kind is FeatureKind.BOOLEAN else draw(st.integers(1, 50))
    return Grant(key, kind, start, None if length is None else start + timedelta(days=length), limit)


operations = st.lists(st.tuples(st.booleans(), grants()), max_size=40)


@settings(max_examples=200, deadline=None)
@given(operations, st.lists(st.tuples(st.sampled_from(CUSTOMERS), st.integers(0, 80)), max_size=3))
def test_incremental_changes_match_rebuild(ops: list[tuple[bool, Grant]], usage: list[tuple[str, int]]) -> None:
    live = AccessProjection()
    final: dict[GrantKey, Grant] = {}
    for is_grant, grant in ops:
        if is_grant:
            live.upsert(grant)
            final[grant.key] = grant
        else:
            live.remove(grant.key)
            final.pop(grant.key, None)
    rebuilt = AccessProjection.from_state(final.values())
    for customer, used in usage:
        for projection in (live, rebuilt):
            projection.record_usage("t1", customer, "tokens", used, T0)

    for customer in CUSTOMERS:
        assert sorted(live.grants_of("t1", customer), key=repr) == sorted(final_of(final, customer), key=repr)
        for now in CHECK_TIMES:
            for feature in FEATURES:
                assert live.check("t1", customer, feature, now) == rebuilt.check("t1", customer, feature, now)


def final_of(final: dict[GrantKey, Grant], customer: str) -> list[Grant]:
    return [g for k, g in final.items() if k.customer_id == customer]


@settings(max_examples=100, deadline=None)
@given(operations)
def test_quota_limit_is_the_sum_and_booleans_any(ops: list[tuple[bool, Grant]]) -> None:
    projection = AccessProjection.from_state(g for is_grant, g in ops if is_grant)
    final = {g.key: g for is_grant, g in ops if is_grant}
    for customer in CUSTOMERS:
        for now in CHECK_TIMES:
            valid = [g for g in final.values() if g.key.customer_id == customer and g.is_valid_at(now)]
            hd = projection.check("t1", customer, "hd", now)
            tokens = projection.check("t1", customer, "tokens", now)
            assert hd.allowed == any(g.feature_key == "hd" for g in valid)
            quota = [g.limit or 0 for g in valid if g.feature_key == "tokens"]
            assert tokens.limit == (sum(quota) if quota else None)
            assert len(tokens.sources) == len(quota)


def test_removal_reason_is_remembered_until_the_feature_is_granted_again() -> None:
    grant = Grant(GrantKey("t1", "c1", "hd", GrantSource.SUBSCRIPTION, "s"), FeatureKind.BOOLEAN, T0)
    projection = AccessProjection.from_state([grant])

    projection.remove(grant.key, why_not=AccessReason.PAUSED)
    paused = projection.check("t1", "c1", "hd", T0)
    projection.upsert(grant)

    assert paused.reason is AccessReason.PAUSED
    assert projection.check("t1", "c1", "hd", T0).allowed
