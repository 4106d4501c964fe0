"""PromotionsService against fake services: the role matrix, goodwill codes, a code's validation for a checkout, and
the automatic promotion a checkout without a code would get."""

from __future__ import annotations

import pytest

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import promotions_pb2 as gp
from azotte.promotions.v1 import promotions_pb2 as pr
from azotte_gateway.domain.permissions import Role
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument, NotFound, PermissionDenied
from tests.unit.gateway.fakes import PRICE_MINOR, FakeSuite, caller


@pytest.fixture
def suite() -> FakeSuite:
    suite = FakeSuite()
    suite.lifecycle.add_customer("cus_1")
    with caller().scope():
        suite.promotions.add("PREMIERE50", 50, new_only=True)
    return suite


@pytest.fixture
def gateway(suite: FakeSuite) -> Gateway:
    return suite.gateway()


def validate_request(code: str = "premiere50", customer_id: str = "cus_1") -> gp.ValidatePromotionCodeRequest:
    return gp.ValidatePromotionCodeRequest(
        code=code, storefront_id="us", plan_id="basic", channel=channel_pb2.CHANNEL_WEB, customer_id=customer_id
    )


async def validate(gateway: Gateway, who: Caller, request: gp.ValidatePromotionCodeRequest) -> pr.Validation:
    with who.scope():
        return (await gateway.promotions.validate_promotion_code(who, request)).validation


def device(customer_id: str | None = None) -> Caller:
    who = caller(Role.PUBLISHABLE)
    if customer_id is None:
        return who
    return Caller(who.principal.acting_for(customer_id), who.tenant)


async def test_validate_answers_the_discount_off_the_plans_price_for_the_customer(
    suite: FakeSuite, gateway: Gateway
) -> None:
    validation = await validate(gateway, device(), validate_request())
    assert validation.eligible
    assert (validation.discount.amount_minor, validation.final_amount.amount_minor) == (500, PRICE_MINOR - 500)
    checkout = suite.promotions.checkouts[-1]
    assert (checkout.customer_id, checkout.plan_id, checkout.storefront_id) == ("cus_1", "basic", "us")
    assert checkout.channel == channel_pb2.CHANNEL_WEB


async def test_validate_judges_the_customers_history_from_lifecycle(suite: FakeSuite, gateway: Gateway) -> None:
    admin = caller()
    with admin.scope():
        await gateway.checkout.checkout(
            admin,
            gw.CheckoutRequest(
                request_id="c-1",
                customer_id="cus_1",
                storefront_id="us",
                plan_id="premium",
                channel=channel_pb2.CHANNEL_WEB,
                payment_method_token="tok_success",
            ),
        )
    validation = await validate(gateway, device(), validate_request())
    assert not validation.eligible
    assert [i.reason for i in validation.ineligibilities] == [pr.INELIGIBILITY_REASON_NOT_NEW_CUSTOMER]
    assert suite.promotions.checkouts[-1].customer.held_plan_ids == ["premium"]


async def test_an_unknown_code_validates_as_not_found_rather_than_an_error(gateway: Gateway) -> None:
    validation = await validate(gateway, caller(Role.VIEWER), validate_request(code="NOPE"))
    assert [i.reason for i in validation.ineligibilities] == [pr.INELIGIBILITY_REASON_CODE_NOT_FOUND]


async def test_a_device_bound_to_a_customer_validates_for_that_customer_only(gateway: Gateway) -> None:
    assert (await validate(gateway, device("cus_1"), validate_request(customer_id=""))).eligible
    with pytest.raises(PermissionDenied) as refused:
        await validate(gateway, device("cus_1"), validate_request(customer_id="cus_2"))
    assert refused.value.reason == "CUSTOMER_SCOPE_VIOLATION"


async def test_validate_for_another_tenants_customer_is_not_found(suite: FakeSuite, gateway: Gateway) -> None:
    suite.lifecycle.add_customer("cus_foreign", tenant_id="other-tenant")
    with pytest.raises(NotFound):
        await validate(gateway, caller(), validate_request(customer_id="cus_foreign"))


def automatic_request(
    plan_id: str = "basic", customer_id: str = "", skip_trial: bool = False
) -> gp.ValidateAutomaticPromotionRequest:
    return gp.ValidateAutomaticPromotionRequest(
        storefront_id="us",
        plan_id=plan_id,
        channel=channel_pb2.CHANNEL_WEB,
        customer_id=customer_id,
        skip_trial=skip_trial,
    )


async def automatic(gateway: Gateway, who: Caller, request: gp.ValidateAutomaticPromotionRequest) -> pr.Validation:
    with who.scope():
        answer = await gateway.promotions.validate_automatic_promotion(who, request)
    return answer.validation if answer.HasField("validation") else pr.Validation()


async def test_a_paywall_is_told_the_automatic_discount_the_checkout_would_take_and_nothing_is_reserved(
    suite: FakeSuite, gateway: Gateway
) -> None:
    assert await automatic(gateway, device(), automatic_request(customer_id="cus_1")) == pr.Validation()  # none
    with caller().scope():
        suite.promotions.add("", 10, automatic=True)
        best = suite.promotions.add("", 20, automatic=True)
    validation = await automatic(gateway, device("cus_1"), automatic_request())
    assert (validation.eligible, validation.promotion_id, validation.code) == (True, best, "")
    assert (validation.discount.amount_minor, validation.final_amount.amount_minor) == (200, PRICE_MINOR - 200)
    checkout = suite.promotions.checkouts[-1]
    assert (checkout.customer_id, checkout.plan_id, checkout.amount.amount_minor) == ("cus_1", "basic", PRICE_MINOR)
    assert not suite.promotions.redemptions  # a question reserves nothing


async def test_no_automatic_discount_is_shown_for_a_trial_the_checkout_would_not_skip(
    suite: FakeSuite, gateway: Gateway
) -> None:
    with caller().scope():
        suite.promotions.add("", 20, automatic=True)
    assert await automatic(gateway, caller(), automatic_request("trial")) == pr.Validation()  # 7 days free
    skipping = await automatic(gateway, caller(), automatic_request("trial", skip_trial=True))
    assert skipping.eligible and skipping.discount.amount_minor > 0


async def test_a_device_bound_to_a_customer_asks_the_automatic_discount_for_that_customer_only(
    gateway: Gateway,
) -> None:
    with pytest.raises(PermissionDenied) as refused:
        await automatic(gateway, device("cus_1"), automatic_request(customer_id="cus_2"))
    assert refused.value.reason == "CUSTOMER_SCOPE_VIOLATION"
    with pytest.raises(InvalidArgument) as missing:
        await automatic(gateway, caller(), automatic_request(plan_id=""))
    assert missing.value.violations[0].field == "plan_id"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.PUBLISHABLE, False), (Role.VIEWER, False), (Role.OPERATOR, True), (Role.MANAGER, True)],
)
async def test_goodwill_codes_are_issued_by_operators_and_up(
    suite: FakeSuite, gateway: Gateway, role: Role, allowed: bool
) -> None:
    who = caller(role)
    promotion_id = next(iter(suite.promotions.promotions))[1]
    request = gp.IssueGoodwillCodeRequest(request_id="gw-1", promotion_id=promotion_id, customer_id="cus_1")
    with who.scope():
        if not allowed:
            with pytest.raises(PermissionDenied):
                await gateway.promotions.issue_goodwill_code(who, request)
            return
        issued = await gateway.promotions.issue_goodwill_code(who, request)
        again = await gateway.promotions.issue_goodwill_code(who, request)
    assert issued == again
    code = suite.promotions.codes[(caller().tenant.id, issued.code)]
    assert (code.promotion_id, code.batch_id) == (promotion_id, issued.batch_id)


async def test_a_goodwill_code_for_an_unknown_customer_is_not_found_and_issues_nothing(
    suite: FakeSuite, gateway: Gateway
) -> None:
    who = caller(Role.OPERATOR)
    promotion_id = next(iter(suite.promotions.promotions))[1]
    before = dict(suite.promotions.codes)
    with who.scope(), pytest.raises(NotFound):
        await gateway.promotions.issue_goodwill_code(
            who, gp.IssueGoodwillCodeRequest(request_id="gw-1", promotion_id=promotion_id, customer_id="cus_x")
        )
    assert suite.promotions.codes == before


@pytest.mark.parametrize("role", [Role.PUBLISHABLE, Role.VIEWER, Role.OPERATOR])
async def test_only_managers_configure_promotions(gateway: Gateway, role: Role) -> None:
    who = caller(role)
    with who.scope(), pytest.raises(PermissionDenied) as refused:
        await gateway.promotions.create_promotion(
            who, gp.CreatePromotionRequest(request_id="p-1", promotion=pr.Promotion(display_name="x"))
        )
    assert refused.value.reason == "ROLE_PERMISSION_MISSING"


async def test_a_publishable_key_reads_no_promotion(suite: FakeSuite, gateway: Gateway) -> None:
    who = device()
    promotion_id = next(iter(suite.promotions.promotions))[1]
    with who.scope(), pytest.raises(PermissionDenied):
        await gateway.promotions.get_promotion(who, gp.GetPromotionRequest(promotion_id=promotion_id))
    viewer = caller(Role.VIEWER)
    with viewer.scope():
        read = await gateway.promotions.get_promotion(viewer, gp.GetPromotionRequest(promotion_id=promotion_id))
    assert read.promotion.id == promotion_id
