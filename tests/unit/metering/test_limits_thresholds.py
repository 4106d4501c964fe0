"""Limits: each threshold announced once per period; a hard limit cuts off and a new period or a top-up
restores."""

from __future__ import annotations

from decimal import Decimal

import pytest

from azotte_metering.domain.limits import Denial, Limit, Measure, Policy, evaluate
from azotte_platform.errors import InvalidArgument

D = Decimal


def units_limit(policy: Policy = Policy.SUSPEND) -> Limit:
    return Limit(
        "lim", "cus", "ai.tokens", Measure.UNITS, D(1000), policy, meter_key="tokens", alert_percents=(50, 80, 100)
    )


def test_each_threshold_is_crossed_once_per_period() -> None:
    limit = units_limit(Policy.ALLOW_OVERAGE)
    first = evaluate(limit, None, "2026-03", D(820))
    assert first.crossed == (50, 80)
    again = evaluate(limit, first.state, "2026-03", D(900))
    assert again.crossed == ()
    full = evaluate(limit, again.state, "2026-03", D(5000))
    assert full.crossed == (100,)
    assert not full.cut_off  # overage allowed: alerts only
    next_period = evaluate(limit, full.state, "2026-04", D(600))
    assert next_period.crossed == (50,)


def test_a_hard_limit_cuts_off_once_and_a_new_period_restores() -> None:
    limit = units_limit()
    under = evaluate(limit, None, "2026-03", D(999))
    assert not under.cut_off
    cut = evaluate(limit, under.state, "2026-03", D(1000))
    assert cut.cut_off and cut.state.cut_off and limit.denial is Denial.QUOTA_EXHAUSTED
    still = evaluate(limit, cut.state, "2026-03", D(1200))
    assert not still.cut_off and not still.restored
    restored = evaluate(limit, still.state, "2026-04", D(0))
    assert restored.restored and not restored.state.cut_off


def test_a_spend_cap_counts_money() -> None:
    cap = Limit(
        "cap", "cus", "ai.chat", Measure.SPEND, D(5000), Policy.SUSPEND, currency_code="USD", alert_percents=(80,)
    )
    assert evaluate(cap, None, "p", D("3999.99")).crossed == ()
    crossing = evaluate(cap, None, "p", D(5000))
    assert crossing.crossed == (80,) and crossing.cut_off and cap.denial is Denial.SPEND_LIMIT_REACHED


def test_a_credit_floor_cuts_off_when_the_wallet_runs_out_and_a_top_up_restores() -> None:
    floor = Limit("floor", "cus", "ai.chat", Measure.CREDIT, D(0), Policy.SUSPEND, currency_code="USD")
    cut = evaluate(floor, None, "p", D(0))
    assert cut.cut_off and cut.crossed == (100,)
    topped_up = evaluate(floor, cut.state, "p", D(2000))
    assert topped_up.restored and not topped_up.cut_off


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"feature_key": ""}, "limit.feature_key"),
        ({"value": D(0)}, "limit.value"),
        ({"meter_key": ""}, "limit.meter_key"),
        ({"alert_percents": (0,)}, "limit.alert_percents"),
    ],
)
def test_a_bad_limit_names_its_field(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {
        "limit_id": "l",
        "customer_id": "c",
        "feature_key": "f",
        "measure": Measure.UNITS,
        "value": D(10),
        "policy": Policy.SUSPEND,
        "meter_key": "m",
        **kwargs,
    }
    with pytest.raises(InvalidArgument) as raised:
        Limit(**arguments)  # type: ignore[arg-type]
    assert raised.value.violations[0].field == field
