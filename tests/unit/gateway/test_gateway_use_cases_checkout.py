"""The checkout use case against fake services: one charge, one subscription, the money back on failure."""

from __future__ import annotations

from typing import Any

import pytest

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import payments_pb2 as pay
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.errors import (
    ChannelNotEnabled,
    PlanNotActive,
    PlanNotInStorefront,
    PromotionCodeNotEligible,
    PromotionCodeUnknown,
    PromotionLimitReached,
)
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import AlreadyExists, AzotteError, InvalidArgument, PaymentDeclined, RequestIdReused
from tests.unit.gateway.fakes import DECLINING_TOKEN, PRICE_MINOR, TAX_MINOR, FakeSuite, caller


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


def checkout_request(**overrides: Any) -> gw.CheckoutRequest:
    fields: dict[str, Any] = {
        "request_id": "checkout-1",
        "customer_id": "cus_1",
        "storefront_id": "us",
        "plan_id": "basic",
        "channel": channel_pb2.CHANNEL_WEB,
        "payment_method_token": "tok_success",
        **overrides,
    }
    return gw.CheckoutRequest(**fields)


async def check_out(gateway: Gateway, request: gw.CheckoutRequest) -> gw.CheckoutResponse:
    who = caller()
    with who.scope():
        return await gateway.checkout.checkout(who, request)


async def charges_of(suite: FakeSuite, customer_id: str) -> list[pay.Charge]:
    with caller().scope():
        return suite.payments.charges_of(customer_id)


async def test_a_paid_checkout_charges_once_subscribes_and_answers_the_granted_entitlements(
    suite: FakeSuite, gateway: Gateway
) -> None:
    answer = await check_out(gateway, checkout_request())
    assert answer.subscription.state == subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE
    assert answer.charge.state == gw.CHARGE_STATE_SUCCEEDED
    assert (answer.charge.net.amount_minor, answer.charge.gross.amount_minor) == (PRICE_MINOR, PRICE_MINOR + TAX_MINOR)
    assert [(e.feature_key, e.subscription_id) for e in answer.granted_entitlements] == [("hd", answer.subscription.id)]
    assert [c.id for c in await charges_of(suite, "cus_1")] == [answer.charge.id]
    assert suite.lifecycle.initial_charges[answer.subscription.id] == answer.charge.id


async def test_a_trial_checkout_charges_nothing(suite: FakeSuite, gateway: Gateway) -> None:
    answer = await check_out(gateway, checkout_request(plan_id="trial"))
    assert answer.subscription.state == subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING
    assert answer.subscription.trial_end_time.ToDatetime().day == 8  # NOW is March 1st: 7 days of trial
    assert not answer.HasField("charge")
    assert await charges_of(suite, "cus_1") == []
    assert suite.lifecycle.initial_charges[answer.subscription.id] == ""


async def test_a_declined_card_is_payment_declined_with_the_decline_reason(suite: FakeSuite, gateway: Gateway) -> None:
    with pytest.raises(PaymentDeclined) as declined:
        await check_out(gateway, checkout_request(payment_method_token=DECLINING_TOKEN))
    assert declined.value.metadata["decline_reason"] == "INSUFFICIENT_FUNDS"
    assert suite.lifecycle.subscriptions == {}


async def test_when_the_subscription_fails_after_the_charge_the_charge_is_voided(
    suite: FakeSuite, gateway: Gateway
) -> None:
    suite.lifecycle.subscriptions_fail = True
    with pytest.raises(AzotteError):
        await check_out(gateway, checkout_request())
    [charge] = await charges_of(suite, "cus_1")
    assert charge.status == pay.CHARGE_STATUS_VOIDED
    assert suite.payments.refunds == []


async def test_a_charge_that_can_no_longer_be_voided_is_refunded(suite: FakeSuite, gateway: Gateway) -> None:
    suite.lifecycle.subscriptions_fail = True
    suite.payments.void_fails = True
    with pytest.raises(AzotteError):
        await check_out(gateway, checkout_request())
    [charge] = await charges_of(suite, "cus_1")
    assert [refund.charge_id for refund in suite.payments.refunds] == [charge.id]
    assert charge.refunded == charge.gross


async def test_a_repeat_with_the_same_request_id_answers_the_same_without_a_second_charge(
    suite: FakeSuite, gateway: Gateway
) -> None:
    first = await check_out(gateway, checkout_request())
    again = await check_out(gateway, checkout_request())
    assert again == first
    assert len(await charges_of(suite, "cus_1")) == 1
    assert len(suite.lifecycle.subscriptions) == 1


async def test_the_same_request_id_with_other_content_is_refused(suite: FakeSuite, gateway: Gateway) -> None:
    await check_out(gateway, checkout_request())
    with pytest.raises(RequestIdReused):
        await check_out(gateway, checkout_request(plan_id="trial"))
    assert len(suite.lifecycle.subscriptions) == 1


@pytest.mark.parametrize(
    ("overrides", "error", "field"),
    [
        ({"channel": channel_pb2.CHANNEL_TELECOM}, ChannelNotEnabled, "channel"),
        ({"plan_id": "gold"}, PlanNotInStorefront, "plan_id"),
        # NOTE: the catalog is asked everything at once; the storefront's answer is still judged first.
        ({"channel": channel_pb2.CHANNEL_TELECOM, "plan_id": "gold"}, ChannelNotEnabled, "channel"),
        ({"plan_id": "retired"}, PlanNotActive, "plan_id"),
    ],
)
async def test_what_the_storefront_does_not_sell_is_refused_naming_the_field(
    suite: FakeSuite, gateway: Gateway, overrides: dict[str, Any], error: type[InvalidArgument], field: str
) -> None:
    with pytest.raises(error) as refused:
        await check_out(gateway, checkout_request(**overrides))
    assert [v.field for v in refused.value.violations] == [field]
    assert await charges_of(suite, "cus_1") == []


async def test_a_checkout_without_a_request_id_is_refused_naming_it(suite: FakeSuite, gateway: Gateway) -> None:
    with pytest.raises(InvalidArgument) as refused:
        await check_out(gateway, checkout_request(request_id=""))
    assert [v.field for v in refused.value.violations] == ["request_id"]
    assert suite.idempotency.answers == {}


@pytest.mark.parametrize("code", ["WELCOME10", "x"])
async def test_an_unknown_promotion_code_is_refused_naming_the_field_before_anything_is_charged(
    suite: FakeSuite, gateway: Gateway, code: str
) -> None:
    suite.lifecycle.add_customer("cus_1")
    with pytest.raises(PromotionCodeUnknown) as refused:
        await check_out(gateway, checkout_request(promotion_code=code))
    assert refused.value.reason == "PROMOTION_CODE_UNKNOWN"
    assert [v.field for v in refused.value.violations] == ["promotion_code"]
    assert await charges_of(suite, "cus_1") == []
    assert suite.lifecycle.subscriptions == {}
    assert [answer for _, answer in suite.idempotency.answers.values() if answer is not None] == []


def promotion(suite: FakeSuite, code: str = "PREMIERE50", percent: int = 50, **options: Any) -> str:
    suite.lifecycle.add_customer("cus_1")
    with caller().scope():
        return suite.promotions.add(code, percent, **options)


def redemption_states(suite: FakeSuite) -> list[int]:
    return [r.state for r in suite.promotions.redemptions.values()]


async def test_a_promotion_code_discounts_the_price_before_tax_and_its_redemption_is_confirmed_by_the_charge(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion_id = promotion(suite)
    answer = await check_out(gateway, checkout_request(promotion_code="premiere50"))
    discount = (PRICE_MINOR + 1) // 2  # 50 % of 999, rounded half up
    charged = answer.charge
    assert (charged.net.amount_minor, charged.discount.amount_minor) == (PRICE_MINOR - discount, discount)
    assert charged.gross.amount_minor == PRICE_MINOR - discount + TAX_MINOR  # tax on the discounted price
    applied = answer.promotion
    assert (applied.promotion_id, applied.code, applied.list_price.amount_minor) == (
        promotion_id,
        "PREMIERE50",
        PRICE_MINOR,
    )
    (redemption,) = suite.promotions.redemptions.values()
    assert (redemption.state, redemption.charge_id) == (pr.REDEMPTION_STATE_CONFIRMED, charged.id)
    checkout = suite.promotions.checkouts[-1]
    assert (checkout.customer_id, checkout.plan_id, checkout.amount.amount_minor) == ("cus_1", "basic", PRICE_MINOR)
    assert checkout.customer.has_paid_subscription is False


async def test_a_retried_checkout_reuses_its_reservation(suite: FakeSuite, gateway: Gateway) -> None:
    promotion(suite)
    suite.lifecycle.crash_after_create = True
    with pytest.raises(ConnectionResetError):
        await check_out(gateway, checkout_request(promotion_code="PREMIERE50"))
    crash_rolls_back(suite)
    answer = await check_out(gateway, checkout_request(promotion_code="PREMIERE50"))
    assert len(suite.promotions.redemptions) == 1
    assert redemption_states(suite) == [pr.REDEMPTION_STATE_CONFIRMED]
    assert answer.promotion.redemption_id == next(iter(suite.promotions.redemptions.values())).id


async def test_a_declined_card_releases_the_reservation(suite: FakeSuite, gateway: Gateway) -> None:
    promotion(suite, max_per_customer=1)
    with pytest.raises(PaymentDeclined):
        await check_out(gateway, checkout_request(promotion_code="PREMIERE50", payment_method_token=DECLINING_TOKEN))
    assert redemption_states(suite) == [pr.REDEMPTION_STATE_RELEASED]
    # NOTE: released, so the customer's one use is still there.
    answer = await check_out(gateway, checkout_request(request_id="checkout-2", promotion_code="PREMIERE50"))
    assert answer.charge.discount.amount_minor > 0


async def test_a_checkout_rolled_back_after_the_charge_releases_the_reservation(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite)
    suite.lifecycle.subscriptions_fail = True
    with pytest.raises(AzotteError):
        await check_out(gateway, checkout_request(promotion_code="PREMIERE50"))
    (charge,) = await charges_of(suite, "cus_1")
    assert charge.status == pay.CHARGE_STATUS_VOIDED
    assert [r.release_reason for r in suite.promotions.redemptions.values()] == ["checkout_compensated"]


async def test_the_per_customer_limit_refuses_a_second_use_as_a_limit_reached(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite, max_per_customer=1)
    await check_out(gateway, checkout_request(promotion_code="PREMIERE50"))
    with pytest.raises(PromotionLimitReached) as refused:
        await check_out(
            gateway, checkout_request(request_id="checkout-2", plan_id="premium", promotion_code="PREMIERE50")
        )
    assert refused.value.metadata["limit"] == "customer_limit_reached"
    assert len(await charges_of(suite, "cus_1")) == 1


async def test_a_code_for_new_customers_is_not_eligible_after_a_paid_subscription_naming_every_reason(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite, new_only=True)
    await check_out(gateway, checkout_request())
    with pytest.raises(PromotionCodeNotEligible) as refused:
        await check_out(
            gateway, checkout_request(request_id="checkout-2", plan_id="premium", promotion_code="PREMIERE50")
        )
    assert [v.field for v in refused.value.violations] == ["promotion_code"]
    assert refused.value.metadata["reasons"] == "not_new_customer"
    assert suite.promotions.checkouts[-1].customer.held_plan_ids == ["basic"]
    assert len(await charges_of(suite, "cus_1")) == 1


async def test_a_money_off_code_on_a_plan_with_a_trial_is_not_eligible_and_counts_nothing(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite)
    with pytest.raises(PromotionCodeNotEligible) as refused:
        await check_out(gateway, checkout_request(plan_id="trial", promotion_code="PREMIERE50"))
    assert refused.value.metadata["reasons"] == "plan_has_trial"
    assert [v.field for v in refused.value.violations] == ["promotion_code"]
    assert [r.release_reason for r in suite.promotions.redemptions.values()] == ["checkout_refused"]
    assert suite.lifecycle.subscriptions == {}


async def test_an_extra_trial_days_code_lengthens_the_trial_charges_nothing_and_is_redeemed(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite, code="MORETIME", extra_trial_days=7)
    answer = await check_out(gateway, checkout_request(plan_id="trial", promotion_code="moretime"))
    plain = await check_out(gateway, checkout_request(request_id="checkout-2", customer_id="cus_2", plan_id="trial"))
    lengthened = answer.subscription.trial_end_time.ToDatetime() - plain.subscription.trial_end_time.ToDatetime()
    assert lengthened.days == 7
    assert answer.promotion.extra_trial_days == 7 and not answer.HasField("charge")
    assert await charges_of(suite, "cus_1") == []
    (redemption,) = suite.promotions.redemptions.values()
    assert (redemption.state, redemption.charge_id) == (pr.REDEMPTION_STATE_CONFIRMED, "")


async def test_an_extra_trial_days_code_gives_a_plan_without_a_trial_one_and_is_refused_when_skipping_it(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite, code="MORETIME", extra_trial_days=5)
    answer = await check_out(gateway, checkout_request(promotion_code="MORETIME"))
    assert answer.subscription.HasField("trial_end_time") and not answer.HasField("charge")
    with pytest.raises(PromotionCodeNotEligible) as refused:
        await check_out(
            gateway,
            checkout_request(request_id="checkout-2", plan_id="premium", promotion_code="MORETIME", skip_trial=True),
        )
    assert refused.value.metadata["reasons"] == "checkout_skips_trial"
    assert len(await charges_of(suite, "cus_1")) == 0


async def test_the_checkout_charge_carries_the_id_of_the_subscription_it_paid_for(
    suite: FakeSuite, gateway: Gateway
) -> None:
    answer = await check_out(gateway, checkout_request())
    assert answer.charge.subscription_id == answer.subscription.id
    [charge] = await charges_of(suite, "cus_1")
    assert charge.subscription_id == answer.subscription.id


async def test_a_second_checkout_of_a_held_plan_is_already_subscribed_and_charges_nothing(
    suite: FakeSuite, gateway: Gateway
) -> None:
    first = await check_out(gateway, checkout_request(request_id="checkout-1"))
    with pytest.raises(AlreadyExists) as refused:
        await check_out(gateway, checkout_request(request_id="checkout-2"))
    assert refused.value.reason == "ALREADY_SUBSCRIBED"
    assert refused.value.metadata["subscription_id"] == first.subscription.id
    assert [c.id for c in await charges_of(suite, "cus_1")] == [first.charge.id]
    assert len(suite.lifecycle.subscriptions) == 1


def crash_rolls_back(suite: FakeSuite) -> None:
    """What PostgreSQL does when the gateway dies mid-checkout: its request id row was never committed."""
    answers = suite.idempotency.answers
    suite.idempotency.answers = {key: kept for key, kept in answers.items() if kept[1] is not None}


async def test_a_retry_after_a_crash_once_the_subscription_was_made_answers_it_with_one_linked_charge(
    suite: FakeSuite, gateway: Gateway
) -> None:
    suite.lifecycle.crash_after_create = True
    with pytest.raises(ConnectionResetError):
        await check_out(gateway, checkout_request())
    crash_rolls_back(suite)
    answer = await check_out(gateway, checkout_request())
    [charge] = await charges_of(suite, "cus_1")
    assert charge.status == pay.CHARGE_STATUS_SUCCEEDED
    assert (answer.charge.id, charge.subscription_id) == (charge.id, answer.subscription.id)
    assert list(suite.lifecycle.subscriptions) == [("acme-video", answer.subscription.id)]


async def test_a_retry_after_a_crash_between_the_charge_and_the_subscription_subscribes_with_the_same_charge(
    suite: FakeSuite, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_between_the_charge_and_the_subscription(suite, monkeypatch)
    with pytest.raises(ConnectionResetError):
        await check_out(gateway, checkout_request())
    assert suite.lifecycle.subscriptions == {}
    crash_rolls_back(suite)
    answer = await check_out(gateway, checkout_request())
    [charge] = await charges_of(suite, "cus_1")
    assert (charge.status, charge.subscription_id) == (pay.CHARGE_STATUS_SUCCEEDED, answer.subscription.id)
    assert suite.lifecycle.initial_charges[answer.subscription.id] == charge.id


def crash_between_the_charge_and_the_subscription(suite: FakeSuite, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway dies after the charge, before lifecycle answers the subscription (once)."""
    create = suite.lifecycle.CreateSubscription

    async def crash_on_the_create(request: lc.CreateSubscriptionRequest) -> lc.CreateSubscriptionResponse:
        if request.validate_only:
            return await create(request)
        monkeypatch.undo()
        raise ConnectionResetError("the gateway died before lifecycle answered")

    monkeypatch.setattr(suite.lifecycle, "CreateSubscription", crash_on_the_create)


async def test_a_retry_after_a_crash_goes_on_at_the_price_charged_though_an_automatic_promotion_started_since(
    suite: FakeSuite, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash_between_the_charge_and_the_subscription(suite, monkeypatch)
    with pytest.raises(ConnectionResetError):
        await check_out(gateway, checkout_request())
    crash_rolls_back(suite)
    started = promotion(suite, code="", percent=20, automatic=True)  # the retry would take 20 % off
    gateway.checkout.automatic.cache.invalidate(caller().tenant.id)

    answer = await check_out(gateway, checkout_request())
    [charge] = await charges_of(suite, "cus_1")
    assert (answer.charge.id, charge.net.amount_minor, charge.subscription_id) == (
        charge.id,
        PRICE_MINOR,
        answer.subscription.id,
    )
    assert not answer.HasField("promotion") and not answer.subscription.HasField("renewal_discount")
    [(promotion_id, state)] = [(r.promotion_id, r.state) for r in suite.promotions.redemptions.values()]
    assert (promotion_id, state) == (started, pr.REDEMPTION_STATE_RELEASED)  # what the retry reserved, given back


async def test_a_retry_after_a_crash_keeps_the_automatic_promotion_charged_though_it_ended_since(
    suite: FakeSuite, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    sale = promotion(suite, code="", percent=20, automatic=True)
    crash_between_the_charge_and_the_subscription(suite, monkeypatch)
    with pytest.raises(ConnectionResetError):
        await check_out(gateway, checkout_request())
    crash_rolls_back(suite)
    with caller().scope():
        suite.promotions.promotions[(caller().tenant.id, sale)].state = pr.PROMOTION_STATE_ENDED
    gateway.checkout.automatic.cache.invalidate(caller().tenant.id)  # the tenant has no active one now

    answer = await check_out(gateway, checkout_request())
    [charge] = await charges_of(suite, "cus_1")
    off = (PRICE_MINOR * 20 + 50) // 100
    assert (answer.charge.id, charge.net.amount_minor, charge.discount.amount_minor) == (
        charge.id,
        PRICE_MINOR - off,
        off,
    )
    assert (answer.promotion.promotion_id, answer.promotion.discount.amount_minor) == (sale, off)
    assert redemption_states(suite) == [pr.REDEMPTION_STATE_CONFIRMED]


async def test_a_checkout_without_a_code_gets_the_best_automatic_promotion_it_suits(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite, code="", percent=80)  # not automatic: never applied without a code
    promotion(suite, code="", percent=10, automatic=True)
    best = promotion(suite, code="", percent=20, automatic=True)
    welcome = promotion(suite, code="", percent=90, automatic=True, new_only=True)

    first = await check_out(gateway, checkout_request(request_id="first", plan_id="premium"))
    assert (first.promotion.promotion_id, first.promotion.code) == (welcome, "")  # the most off for a new customer
    second = await check_out(gateway, checkout_request(request_id="second"))  # no longer new
    off = (PRICE_MINOR * 20 + 50) // 100
    assert (second.charge.net.amount_minor, second.charge.discount.amount_minor) == (PRICE_MINOR - off, off)
    assert second.promotion.promotion_id == best
    redeemed = [(r.promotion_id, r.state) for r in suite.promotions.redemptions.values()]
    assert redeemed == [(welcome, pr.REDEMPTION_STATE_CONFIRMED), (best, pr.REDEMPTION_STATE_CONFIRMED)]


async def test_a_code_or_a_trial_takes_no_automatic_promotion_and_a_tenant_without_any_is_not_asked_twice(
    suite: FakeSuite, gateway: Gateway
) -> None:
    promotion(suite)  # PREMIERE50, 50 % with its code
    for customer in ("cus_2", "cus_3", "cus_4"):
        suite.lifecycle.add_customer(customer)
    await check_out(gateway, checkout_request(request_id="plain"))
    await check_out(gateway, checkout_request(request_id="again", customer_id="cus_2", plan_id="premium"))
    assert suite.promotions.listed == 1  # the tenant has no automatic promotion: known after one question
    assert suite.promotions.redemptions == {}
    with caller().scope():
        suite.promotions.add("", 20, automatic=True)
    gateway.checkout.automatic.cache.invalidate(caller().tenant.id)  # as promotions' event does
    coded = await check_out(
        gateway, checkout_request(request_id="coded", customer_id="cus_3", promotion_code="premiere50")
    )
    assert coded.promotion.code == "PREMIERE50"
    trial = await check_out(gateway, checkout_request(request_id="trial", customer_id="cus_4", plan_id="trial"))
    assert not trial.HasField("promotion") and not trial.HasField("charge")
