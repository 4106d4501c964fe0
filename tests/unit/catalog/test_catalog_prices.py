"""Price scheduling rules and price resolution (new sales, renewals, channel overrides)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from azotte_catalog.domain.plan import BillingInterval, IntervalUnit, Plan, PlanStatus
from azotte_catalog.domain.price import (
    ExistingSubscribers,
    Price,
    PriceKey,
    activations_due,
    resolve_price,
    schedule_price,
)
from azotte_catalog.domain.storefront import PaymentRouting, Storefront, TaxMode, TaxPolicy
from azotte_platform.enums import Channel
from azotte_platform.errors import FailedPrecondition, InvalidArgument, NotFound

T0 = datetime(2025, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
DE = Storefront(
    id="de",
    name="Deutschland",
    country="DE",
    currency="EUR",
    tax=TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19")),
    channels=frozenset({Channel.WEB, Channel.APP_STORE}),
    routing=PaymentRouting(fallback=("adyen",)),
)
PLAN = Plan("premium", "Premium", "ott", 30, BillingInterval(IntervalUnit.MONTH), status=PlanStatus.ACTIVE)
KEY = PriceKey("premium", "de")
GRANDFATHERED = ExistingSubscribers.GRANDFATHERED
AT_NEXT_RENEWAL = ExistingSubscribers.AT_NEXT_RENEWAL


def schedule(
    history: list[Price],
    amount: int,
    effective_from: datetime | None,
    now: datetime,
    policy: ExistingSubscribers = GRANDFATHERED,
    key: PriceKey = KEY,
) -> list[Price]:
    return [*history, schedule_price(history, key, amount, effective_from, policy, DE, now)]


def field_of(error: InvalidArgument) -> str:
    return error.violations[0].field


def test_first_price_may_take_effect_now() -> None:
    [price] = schedule([], 1699, None, T0)
    assert (price.effective_from, price.currency) == (T0, "EUR")


def test_change_without_effective_time_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as caught:
        schedule(schedule([], 1699, None, T0), 1799, None, T0 + DAY)
    assert field_of(caught.value) == "price.effective_from"


def test_backdated_price_is_rejected_even_as_first() -> None:
    with pytest.raises(InvalidArgument, match="backdated") as caught:
        schedule([], 1699, T0 - DAY, T0)
    assert field_of(caught.value) == "price.effective_from"


def test_change_effective_now_is_rejected() -> None:
    history = schedule([], 1699, None, T0)
    with pytest.raises(InvalidArgument, match="after now"):
        schedule(history, 1799, T0 + DAY, T0 + DAY)


def test_overlapping_schedule_is_rejected() -> None:
    history = schedule(schedule([], 1699, None, T0), 1799, T0 + 30 * DAY, T0)
    with pytest.raises(InvalidArgument, match="overlaps") as caught:
        schedule(history, 1899, T0 + 30 * DAY, T0 + DAY)
    assert field_of(caught.value) == "price.effective_from"


def test_same_instant_on_another_key_does_not_overlap() -> None:
    history = schedule([], 1699, T0 + DAY, T0)
    assert len(schedule(history, 1999, T0 + DAY, T0, key=PriceKey("premium", "de", Channel.APP_STORE))) == 2


def test_channel_price_needs_channel_enabled() -> None:
    with pytest.raises(InvalidArgument) as caught:
        schedule([], 1999, None, T0, key=PriceKey("premium", "de", Channel.GOOGLE_PLAY))
    assert field_of(caught.value) == "price.channel"


def test_negative_amount_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as caught:
        schedule([], -1, None, T0)
    assert field_of(caught.value) == "price.amount_minor"


def history_with_change(policy: ExistingSubscribers) -> list[Price]:
    return schedule(schedule([], 1699, None, T0), 1799, T0 + 30 * DAY, T0 + DAY, policy)


@pytest.mark.parametrize("policy", list(ExistingSubscribers))
def test_new_subscriptions_pay_the_latest_price_in_effect(policy: ExistingSubscribers) -> None:
    prices = history_with_change(policy)
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 29 * DAY).amount_minor == 1699
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 30 * DAY).amount_minor == 1799


def test_an_answer_says_until_when_it_holds_the_next_version_of_the_key_or_the_channels() -> None:
    prices = history_with_change(GRANDFATHERED)
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + DAY).next_change == T0 + 30 * DAY
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 30 * DAY).next_change is None
    app_store = PriceKey("premium", "de", Channel.APP_STORE)
    prices = schedule(prices, 1999, T0 + 10 * DAY, T0 + DAY, key=app_store)
    assert resolve_price(prices, PLAN, DE, Channel.APP_STORE, T0 + DAY).next_change == T0 + 10 * DAY
    assert resolve_price(prices, PLAN, DE, Channel.APP_STORE, T0 + 10 * DAY).next_change == T0 + 30 * DAY
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + DAY).next_change == T0 + 30 * DAY


def test_grandfathered_change_spares_older_subscriptions() -> None:
    prices = history_with_change(GRANDFATHERED)
    renewal = resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 60 * DAY, subscription_started_at=T0 + 2 * DAY)
    assert renewal.amount_minor == 1699
    later = resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 60 * DAY, subscription_started_at=T0 + 30 * DAY)
    assert later.amount_minor == 1799


def test_at_next_renewal_change_reaches_older_subscriptions_after_it_takes_effect() -> None:
    prices = history_with_change(AT_NEXT_RENEWAL)
    started = T0 + 2 * DAY
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 29 * DAY, started).amount_minor == 1699
    assert resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 32 * DAY, started).amount_minor == 1799


def test_grandfathered_change_after_an_at_next_renewal_one_falls_back_to_it() -> None:
    prices = schedule(history_with_change(AT_NEXT_RENEWAL), 1999, T0 + 90 * DAY, T0 + DAY, GRANDFATHERED)
    renewal = resolve_price(prices, PLAN, DE, Channel.WEB, T0 + 120 * DAY, subscription_started_at=T0 + DAY)
    assert renewal.amount_minor == 1799


def test_channel_price_overrides_storefront_default_and_carries_tax() -> None:
    prices = schedule(schedule([], 1699, None, T0), 1999, None, T0, key=PriceKey("premium", "de", Channel.APP_STORE))
    app = resolve_price(prices, PLAN, DE, Channel.APP_STORE, T0 + DAY)
    web = resolve_price(prices, PLAN, DE, Channel.WEB, T0 + DAY)
    assert (app.amount_minor, app.channel_override, web.amount_minor, web.channel_override) == (1999, True, 1699, False)
    assert (app.currency, app.tax_mode, app.tax_rate) == ("EUR", TaxMode.INCLUSIVE, Decimal("0.19"))


def test_channel_price_not_yet_in_effect_falls_back_to_default() -> None:
    prices = schedule(
        schedule([], 1699, None, T0), 1999, T0 + 10 * DAY, T0, key=PriceKey("premium", "de", Channel.APP_STORE)
    )
    assert resolve_price(prices, PLAN, DE, Channel.APP_STORE, T0 + DAY).amount_minor == 1699


def test_retired_plan_renews_but_is_not_sold() -> None:
    prices = schedule([], 1699, None, T0)
    retired = PLAN.retire()
    assert resolve_price(prices, retired, DE, Channel.WEB, T0 + DAY, subscription_started_at=T0).amount_minor == 1699
    with pytest.raises(FailedPrecondition, match="retired"):
        resolve_price(prices, retired, DE, Channel.WEB, T0 + DAY)


def test_resolving_on_a_disabled_channel_or_without_price_fails() -> None:
    with pytest.raises(FailedPrecondition, match="not enabled"):
        resolve_price([], PLAN, DE, Channel.TELECOM, T0)
    with pytest.raises(NotFound):
        resolve_price(schedule([], 1699, T0 + DAY, T0), PLAN, DE, Channel.WEB, T0)


def test_activations_due_reports_each_scheduled_change_once() -> None:
    prices = history_with_change(AT_NEXT_RENEWAL)
    assert activations_due(prices, T0, T0 + 29 * DAY) == []
    assert [p.amount_minor for p in activations_due(prices, T0 + 29 * DAY, T0 + 30 * DAY)] == [1799]
    assert activations_due(prices, T0 + 30 * DAY, T0 + 40 * DAY) == []


@given(
    offsets=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=6, unique=True),
    policies=st.lists(st.sampled_from(list(ExistingSubscribers)), min_size=6, max_size=6),
    started=st.integers(min_value=0, max_value=1100),
    at=st.integers(min_value=0, max_value=1100),
)
def test_renewal_price_is_always_one_a_subscriber_can_owe(
    offsets: list[int], policies: list[ExistingSubscribers], started: int, at: int
) -> None:
    prices = schedule([], 100, None, T0)
    for i, offset in enumerate(sorted(offsets)):
        prices = schedule(prices, 100 + i + 1, T0 + offset * DAY, T0, policies[i])
    start, when = T0 + min(started, at) * DAY, T0 + at * DAY
    resolved = resolve_price(prices, PLAN, DE, Channel.WEB, when, subscription_started_at=start)
    chosen = next(p for p in prices if p.id == resolved.price_id)
    newer = [p for p in prices if chosen.effective_from < p.effective_from <= when]
    # The chosen version is in effect, and every newer one in effect is a grandfathered change
    # made after the subscription started.
    assert chosen.effective_from <= when
    assert all(p.existing_subscribers is GRANDFATHERED and p.effective_from > start for p in newer)
