"""A renewal bills the usage of the period it ends, in arrears, in the same charge: metering closes the period and
the charge carries the recurring price and the usage as lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from azotte.payments.v1 import payments_pb2 as P
from azotte_lifecycle.adapters.payments import _renewal_message
from azotte_lifecycle.domain.dunning import ChargeOutcome, renewal_charge_key
from azotte_lifecycle.domain.subscription import Subscription
from azotte_lifecycle.ports import RenewalChargeRequest, UsageBill, UsageLine
from azotte_lifecycle.service_layer.scheduler import Scheduler, SchedulerSettings
from azotte_platform.enums import SubscriptionState as S
from azotte_platform.errors import Unavailable
from tests.unit.lifecycle.conftest import T0, UseCases

MAY_1 = T0 + timedelta(days=30)
TOKENS = UsageLine("usage", "tokens: 6 billable of 6", 4150, "tokens", (("model", "large"),), "6")
CREDIT = UsageLine("usage_credit", "Paid from prepaid credit", -1000)


@dataclass
class FakeMetering:
    """Answers each subscription's bill (none unless given); `down` fails the call."""

    bills: dict[str, UsageBill] = field(default_factory=dict)
    closed: list[tuple[str, object, object]] = field(default_factory=list)
    down: bool = False

    async def close_usage_periods(self, subscriptions: Sequence[Subscription]) -> list[UsageBill]:
        if self.down:
            raise Unavailable("metering is down")
        self.closed += [(s.id, s.current_period_start, s.current_period_end) for s in subscriptions]
        return [self.bills.get(s.id, UsageBill("USD")) for s in subscriptions]


@dataclass
class Recorded:
    """What the scheduler asked payments to charge."""

    requests: list[RenewalChargeRequest] = field(default_factory=list)


@pytest.fixture
def metering() -> FakeMetering:
    return FakeMetering()


@pytest.fixture
def recorded(use_cases: UseCases, metering: FakeMetering) -> Recorded:
    """The use cases' scheduler, with metering, recording each renewal charge requested."""
    seen = Recorded()
    charge_renewals = use_cases.payments.charge_renewals

    async def recording(requests: Sequence[RenewalChargeRequest]) -> list[ChargeOutcome | None]:
        seen.requests += requests
        return await charge_renewals(requests)

    use_cases.payments.charge_renewals = recording  # type: ignore[method-assign]
    settings = SchedulerSettings(parallel_batches=1)
    use_cases.scheduler = Scheduler(
        lambda: use_cases.uow, use_cases.catalog, use_cases.payments, use_cases.clock, settings, metering
    )
    return seen


async def test_the_renewal_charges_the_ended_periods_usage_with_the_recurring_price_as_lines(
    use_cases: UseCases, metering: FakeMetering, recorded: Recorded
) -> None:
    sub = await use_cases.subscribe("basic")
    metering.bills[sub.id] = UsageBill("USD", (TOKENS, CREDIT))
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert metering.closed == [(sub.id, T0, MAY_1)]
    (request,) = recorded.requests
    message = _renewal_message(request)
    assert (message.idempotency_key, message.amount.amount_minor) == (renewal_charge_key(sub.id, 2, 0), 4150)
    assert [(line.kind, line.amount.amount_minor) for line in message.lines] == [
        (P.CHARGE_LINE_KIND_RECURRING, 1000),
        (P.CHARGE_LINE_KIND_USAGE, 4150),
        (P.CHARGE_LINE_KIND_USAGE_CREDIT, -1000),
    ]
    assert (message.lines[1].meter_key, dict(message.lines[1].dimensions)) == ("tokens", {"model": "large"})
    renewed = use_cases.stored(sub)
    # NOTE: the period's own price is what was paid for it; the usage paid for the period before.
    assert (renewed.state, renewed.period_index, renewed.current_period_amount_minor) == (S.ACTIVE, 2, 1000)


async def test_a_renewal_without_usage_is_one_price_without_lines(
    use_cases: UseCases, metering: FakeMetering, recorded: Recorded
) -> None:
    await use_cases.subscribe("basic")
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    message = _renewal_message(recorded.requests[0])
    assert (message.amount.amount_minor, list(message.lines)) == (1000, [])


async def test_a_retry_after_a_decline_bills_the_same_period(
    use_cases: UseCases, metering: FakeMetering, recorded: Recorded
) -> None:
    sub = await use_cases.subscribe("basic")
    metering.bills[sub.id] = UsageBill("USD", (TOKENS,))
    use_cases.payments.script = [ChargeOutcome.SOFT_DECLINE]
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    use_cases.clock.advance(timedelta(days=1))
    await use_cases.scheduler.sweep()
    assert metering.closed == [(sub.id, T0, MAY_1)] * 2
    assert [_renewal_message(r).amount.amount_minor for r in recorded.requests] == [5150, 5150]
    assert use_cases.stored(sub).state is S.ACTIVE


async def test_renewals_wait_while_metering_cannot_answer(
    use_cases: UseCases, metering: FakeMetering, recorded: Recorded
) -> None:
    sub = await use_cases.subscribe("basic")
    metering.down = True
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert (recorded.requests, use_cases.stored(sub).period_index) == ([], 1)
    metering.down = False
    use_cases.clock.advance(timedelta(minutes=5))
    await use_cases.scheduler.sweep()
    assert use_cases.stored(sub).period_index == 2


async def test_usage_in_another_currency_is_not_added_to_the_renewal(
    use_cases: UseCases, metering: FakeMetering, recorded: Recorded
) -> None:
    sub = await use_cases.subscribe("basic")
    metering.bills[sub.id] = UsageBill("EUR", (TOKENS,))
    use_cases.clock.set(MAY_1)
    await use_cases.scheduler.sweep()
    assert _renewal_message(recorded.requests[0]).amount.amount_minor == 1000
