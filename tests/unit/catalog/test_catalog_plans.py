"""Plan tiers compare by rank; plan status moves draft → active → retired."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_catalog.domain.plan import BillingInterval, IntervalUnit, Plan, PlanChange, PlanStatus, compare_plans
from azotte_platform.errors import FailedPrecondition


def plan(plan_id: str, rank: int, unit: IntervalUnit = IntervalUnit.MONTH, family: str = "ott") -> Plan:
    return Plan(plan_id, plan_id.title(), family, rank, BillingInterval(unit), status=PlanStatus.ACTIVE)


def test_rank_not_price_decides_upgrade() -> None:
    standard_monthly = plan("standard_monthly", 20)
    premium_annual = plan("premium_annual", 30, IntervalUnit.YEAR)
    assert compare_plans(standard_monthly, premium_annual) is PlanChange.UPGRADE
    assert compare_plans(premium_annual, standard_monthly) is PlanChange.DOWNGRADE


def test_same_rank_interval_switch_is_lateral() -> None:
    assert (
        compare_plans(plan("premium_monthly", 30), plan("premium_annual", 30, IntervalUnit.YEAR)) is PlanChange.LATERAL
    )


def test_plans_of_different_families_do_not_compare() -> None:
    with pytest.raises(FailedPrecondition):
        compare_plans(plan("basic", 1), plan("tokens", 2, family="ai"))


@given(a=st.integers(min_value=0, max_value=100), b=st.integers(min_value=0, max_value=100))
def test_comparison_is_antisymmetric(a: int, b: int) -> None:
    forward, backward = compare_plans(plan("a", a), plan("b", b)), compare_plans(plan("b", b), plan("a", a))
    opposite = {PlanChange.UPGRADE: PlanChange.DOWNGRADE, PlanChange.DOWNGRADE: PlanChange.UPGRADE}
    assert backward is opposite.get(forward, PlanChange.LATERAL)


def test_retired_plan_is_not_sellable_but_renews() -> None:
    retired = plan("basic", 1).retire()
    assert (retired.status, retired.sellable, retired.renewable) == (PlanStatus.RETIRED, False, True)


def test_draft_is_neither_sold_nor_renewed_and_cannot_be_retired() -> None:
    draft = Plan("new", "New", "ott", 5, BillingInterval(IntervalUnit.MONTH))
    assert (draft.sellable, draft.renewable) == (False, False)
    with pytest.raises(FailedPrecondition, match="draft"):
        draft.retire()
    assert draft.activate().sellable


def test_retired_plan_cannot_be_reactivated() -> None:
    with pytest.raises(FailedPrecondition, match="retired"):
        plan("basic", 1).retire().activate()
