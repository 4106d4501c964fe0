"""Limits on a customer's usage in a period: alerts at thresholds, and a hard limit that cuts a feature off.

A limit measures one of three things:
- UNITS: a meter's quantity in the period, against a quota (cut off as QUOTA_EXHAUSTED);
- SPEND: the money rated in the period, against a cap in minor units (cut off as SPEND_LIMIT_REACHED);
- CREDIT: the balance left in the customer's wallet, against a floor (cut off as SPEND_LIMIT_REACHED
  when the balance falls to it; a top-up above it restores).
Alerts fire at percentages of the limit (UNITS and SPEND) once per threshold per period. The policy of a
hard limit suspends the feature, allows overage (alerts only; usage beyond it is priced as usual), or
downgrades the subscription to another plan once per period (nothing is cut off).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from azotte_platform.errors import InvalidArgument

HUNDRED = Decimal(100)
MAX_THRESHOLDS = 10


class Measure(StrEnum):
    """What a limit measures."""

    UNITS = "units"
    SPEND = "spend"
    CREDIT = "credit"


class Policy(StrEnum):
    """What reaching a limit does."""

    SUSPEND = "suspend"
    ALLOW_OVERAGE = "allow_overage"
    DOWNGRADE = "downgrade"


class Denial(StrEnum):
    """The reason an access check gives while a limit holds a feature cut off."""

    QUOTA_EXHAUSTED = "QUOTA_EXHAUSTED"
    SPEND_LIMIT_REACHED = "SPEND_LIMIT_REACHED"


@dataclass(frozen=True, slots=True)
class Limit:
    """A customer's limit on a feature: `value` units (UNITS) or minor units of `currency_code` (SPEND, CREDIT)."""

    limit_id: str
    customer_id: str
    feature_key: str
    measure: Measure
    value: Decimal
    policy: Policy
    meter_key: str = ""
    """The meter counted (UNITS only)."""
    currency_code: str = ""
    """The currency spent or held (SPEND and CREDIT only)."""
    alert_percents: tuple[int, ...] = ()
    downgrade_plan_id: str = ""
    """The plan a DOWNGRADE limit moves the subscription to."""

    def __post_init__(self) -> None:
        if not self.feature_key:
            raise InvalidArgument.field("limit.feature_key", "is required: the feature the limit guards")
        if self.value < 0 or (self.value == 0 and self.measure is not Measure.CREDIT):
            raise InvalidArgument.field("limit.value", "must be positive (a credit floor may be 0)")
        if self.measure is Measure.UNITS and not self.meter_key:
            raise InvalidArgument.field("limit.meter_key", "is required for a limit on units")
        if self.measure is not Measure.UNITS and len(self.currency_code) != 3:
            raise InvalidArgument.field("limit.currency_code", "is required for a limit on money: ISO 4217")
        if len(self.alert_percents) > MAX_THRESHOLDS:
            raise InvalidArgument.field("limit.alert_percents", f"at most {MAX_THRESHOLDS} thresholds")
        for percent in self.alert_percents:
            if not 1 <= percent <= 1000:
                raise InvalidArgument.field("limit.alert_percents", "each threshold is between 1 and 1000 percent")
        if (self.policy is Policy.DOWNGRADE) != bool(self.downgrade_plan_id):
            raise InvalidArgument.field(
                "limit.downgrade_plan_id", "is required for a DOWNGRADE limit, and only for one"
            )
        if self.alert_percents and self.measure is Measure.CREDIT:
            raise InvalidArgument.field("limit.alert_percents", "a credit floor has no percentage thresholds")

    @property
    def denial(self) -> Denial:
        return Denial.QUOTA_EXHAUSTED if self.measure is Measure.UNITS else Denial.SPEND_LIMIT_REACHED

    def reached(self, level: Decimal) -> bool:
        """Units or spend at or past the limit; a balance at or below the floor."""
        return level <= self.value if self.measure is Measure.CREDIT else level >= self.value


@dataclass(frozen=True, slots=True)
class LimitState:
    """Where a limit stands in one period: the thresholds already announced, and whether it holds the cut-off."""

    period_key: str
    alerted: frozenset[int] = field(default_factory=frozenset)
    cut_off: bool = False
    downgraded: bool = False
    """A DOWNGRADE limit was reached in the period: its plan change was ordered."""


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What a new level does to a limit: thresholds crossed now (once each per period) and a cut-off change."""

    state: LimitState
    crossed: tuple[int, ...] = ()
    cut_off: bool = False
    """The feature must be suspended now."""
    restored: bool = False
    """The feature's suspension must be lifted now."""
    downgrade: bool = False
    """The subscription must move to the limit's downgrade plan now."""


def evaluate(limit: Limit, state: LimitState | None, period_key: str, level: Decimal) -> Evaluation:
    """Compare `level` (units, spend or balance) with the limit in the period `period_key`.

    NOTE: a new period starts with no threshold announced and no cut-off held: the previous period's
    cut-off is lifted by the first evaluation in the new one.
    """
    carried = state if state is not None and state.period_key == period_key else None
    current = carried or LimitState(period_key)
    was_cut = state.cut_off if state is not None else False
    crossed = tuple(
        sorted(p for p in limit.alert_percents if p not in current.alerted and level * HUNDRED >= limit.value * p)
    )
    reached = limit.reached(level)
    if limit.measure is Measure.CREDIT and reached and not current.cut_off:
        crossed = (100,)
    cut = reached and limit.policy is Policy.SUSPEND
    # NOTE: a downgrade is ordered once per period; going back under the limit does not undo it.
    downgrade = reached and limit.policy is Policy.DOWNGRADE and not current.downgraded
    new_state = replace(
        current, alerted=current.alerted | frozenset(crossed), cut_off=cut, downgraded=current.downgraded or downgrade
    )
    return Evaluation(
        new_state, crossed, cut_off=cut and not was_cut, restored=was_cut and not cut, downgrade=downgrade
    )
