"""Renewal discounts counted against their promotion's budget by the scheduler: a renewal the budget cannot pay
for is charged at full price and ends the discount, a declined renewal's retry counts its period once, and a
renewal promotions does not answer for waits instead of being charged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from azotte_lifecycle.domain.dunning import ChargeOutcome, RenewalCharge, renewal_charge_key
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from tests.unit.lifecycle.conftest import TENANT, UseCases
from tests.unit.lifecycle.test_lifecycle_recurring_discounts import RENEWALS, quarter_off, renew_at, subscribe


class FakePromotionBudgets:
    """A budget of `left` minor units; each (redemption, period) is counted once, as promotions does per request id."""

    def __init__(self, left: int):
        self.left = left
        self.answered: dict[tuple[str, int], bool] = {}
        self.down = False

    async def count_renewal_discounts(
        self, renewals: Sequence[tuple[Subscription, RenewalCharge]]
    ) -> list[bool | None]:
        return [self._count(sub, charge) for sub, charge in renewals]

    def _count(self, sub: Subscription, charge: RenewalCharge) -> bool | None:
        if self.down:
            return None
        assert sub.discount is not None
        key = (sub.discount.redemption_id, charge.period_index)
        if key not in self.answered:
            self.answered[key] = charge.discount_minor <= self.left
            self.left -= charge.discount_minor if self.answered[key] else 0
        return self.answered[key]


@pytest.fixture
def budgets(use_cases: UseCases) -> FakePromotionBudgets:
    budgets = FakePromotionBudgets(left=500)  # two renewals' 250
    settings = SchedulerSettings(parallel_batches=1)
    use_cases.scheduler = Scheduler(
        lambda: use_cases.uow, use_cases.catalog, use_cases.payments, use_cases.clock, settings, promotions=budgets
    )
    return budgets


async def test_the_renewal_the_budget_cannot_pay_for_is_charged_in_full_and_ends_the_discount(
    use_cases: UseCases, budgets: FakePromotionBudgets
) -> None:
    sub = await subscribe(use_cases, quarter_off(3))
    for when in RENEWALS[:4]:
        await renew_at(use_cases, when)
    keys = [renewal_charge_key(sub.id, period, 0) for period in (2, 3, 4, 5)]
    assert [use_cases.payments.amounts[key] for key in keys] == [750, 750, 1_000, 1_000]
    assert budgets.left == 0 and list(budgets.answered.values()) == [True, True, False]
    assert use_cases.uow.stored(TENANT, sub.id).discount is None
    renewals = [e.payload for e in use_cases.uow.published if e.type == "subscription.renewed"]
    assert [r.discount.amount_minor for r in renewals] == [250, 250, 0, 0]  # type: ignore[attr-defined]


async def test_a_declined_renewals_retry_counts_its_period_once(
    use_cases: UseCases, budgets: FakePromotionBudgets
) -> None:
    sub = await subscribe(use_cases, quarter_off(2))
    use_cases.payments.script = [ChargeOutcome.SOFT_DECLINE]
    await renew_at(use_cases, RENEWALS[0])
    await renew_at(use_cases, RENEWALS[0] + timedelta(days=1))  # the retry succeeds
    await renew_at(use_cases, RENEWALS[1])
    charged = [(2, 0), (2, 1), (3, 0)]
    assert [use_cases.payments.amounts[renewal_charge_key(sub.id, p, a)] for p, a in charged] == [750, 750, 750]
    assert budgets.left == 0 and len(budgets.answered) == 2


async def test_a_renewal_waits_while_promotions_does_not_answer(
    use_cases: UseCases, budgets: FakePromotionBudgets
) -> None:
    sub = await subscribe(use_cases, quarter_off(1))
    budgets.down = True
    await renew_at(use_cases, RENEWALS[0])
    assert renewal_charge_key(sub.id, 2, 0) not in use_cases.payments.amounts
    budgets.down = False
    await renew_at(use_cases, RENEWALS[0] + timedelta(minutes=10))  # after the scheduler's unsettled delay
    assert use_cases.payments.amounts[renewal_charge_key(sub.id, 2, 0)] == 750
