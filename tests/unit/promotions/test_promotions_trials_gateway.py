"""The gateway's side of fair trials over fake services: the checkout refuses a second trial (or buys
without it), the paywall's question, and who may ask it."""

from __future__ import annotations

import pytest

from azotte.common.v1 import channel_pb2, subscription_state_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Principal, Role
from azotte_gateway.errors import CustomerScopeViolation, TrialAlreadyUsed
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument
from tests.unit.gateway.fakes import PRICE_MINOR, TENANT, FakeSuite, caller


@pytest.fixture
def suite() -> FakeSuite:
    return FakeSuite()


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


def trial_checkout(request_id: str = "checkout-1", **fields: object) -> gw.CheckoutRequest:
    return gw.CheckoutRequest(
        request_id=request_id,
        customer_id="cus_1",
        storefront_id="us",
        plan_id="trial",
        channel=channel_pb2.CHANNEL_WEB,
        payment_method_token="tok_success",
        **fields,  # type: ignore[arg-type]
    )


async def check_out(gateway: Gateway, request: gw.CheckoutRequest) -> gw.CheckoutResponse:
    who = caller()
    with who.scope():
        return await gateway.checkout.checkout(who, request)


async def ask(gateway: Gateway, who: Caller, customer_id: str = "cus_1") -> gp.CheckTrialEligibilityResponse:
    with who.scope():
        return await gateway.trials.check_trial_eligibility(
            who, gp.CheckTrialEligibilityRequest(customer_id=customer_id, plan_id="trial")
        )


def take_trial(suite: FakeSuite, customer_id: str = "cus_1") -> None:
    with caller().scope():
        suite.promotions.take_trial(customer_id, "trial")


async def test_a_second_trial_is_refused_with_what_matched_and_nothing_is_subscribed_or_charged(
    suite: FakeSuite, gateway: Gateway
):
    take_trial(suite)

    with pytest.raises(TrialAlreadyUsed) as refused:
        await check_out(gateway, trial_checkout())

    assert refused.value.metadata == {
        "product_line": "ott",
        "match": "customer",
        "matched_value": "cus_1",
        "trial_plan_id": "trial",
    }
    with caller().scope():
        assert suite.payments.charges_of("cus_1") == []
    assert not suite.lifecycle.subscriptions


async def test_skip_trial_buys_the_plan_without_its_trial_and_charges_now(suite: FakeSuite, gateway: Gateway):
    take_trial(suite)

    answer = await check_out(gateway, trial_checkout(skip_trial=True))

    assert answer.subscription.state == subscription_state_pb2.SUBSCRIPTION_STATE_ACTIVE
    assert not answer.subscription.HasField("trial_end_time")
    assert answer.charge.net.amount_minor == PRICE_MINOR


async def test_a_customer_without_a_trial_starts_one(suite: FakeSuite, gateway: Gateway):
    take_trial(suite, "cus_2")

    answer = await check_out(gateway, trial_checkout())

    assert answer.subscription.state == subscription_state_pb2.SUBSCRIPTION_STATE_TRIALING


async def test_a_retried_checkout_is_not_refused_by_the_trial_it_started_itself(suite: FakeSuite, gateway: Gateway):
    first = await check_out(gateway, trial_checkout())
    with caller().scope():
        suite.promotions.take_trial("cus_1", "trial", first.subscription.id)
    # NOTE: a crash before the answer was stored: the retry runs again and finds its own trial recorded.
    suite.idempotency.answers.clear()

    again = await check_out(gateway, trial_checkout())

    assert again.subscription.id == first.subscription.id


async def test_the_paywall_asks_before_offering_the_trial(suite: FakeSuite, gateway: Gateway):
    assert (await ask(gateway, caller(Role.VIEWER))).eligibility.eligible
    take_trial(suite)

    answer = (await ask(gateway, caller(Role.VIEWER))).eligibility

    assert (answer.eligible, answer.reason) == (False, "TRIAL_ALREADY_USED")
    assert answer.match.kind == pr.TRIAL_MATCH_KIND_CUSTOMER and answer.match.plan_id == "trial"


async def test_a_publishable_key_asks_only_for_its_bound_customer(gateway: Gateway):
    bound = Caller(Principal(TENANT.id, TENANT.mode, "key_device", Role.PUBLISHABLE, customer_id="cus_1"), TENANT)

    assert (await ask(gateway, bound)).eligibility.eligible
    with pytest.raises(CustomerScopeViolation):
        await ask(gateway, bound, "cus_2")
    with pytest.raises(CustomerScopeViolation):
        await ask(gateway, caller(Role.PUBLISHABLE))


async def test_every_role_may_ask_and_the_fields_are_required(gateway: Gateway):
    for role in (Role.ADMIN, Role.MANAGER, Role.OPERATOR, Role.VIEWER):
        assert (await ask(gateway, caller(role))).eligibility.eligible
    who = caller()
    with who.scope(), pytest.raises(InvalidArgument) as missing:
        await gateway.trials.check_trial_eligibility(who, gp.CheckTrialEligibilityRequest(customer_id="cus_1"))
    assert missing.value.violations[0].field == "plan_id"
