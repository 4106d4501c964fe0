"""The promotions API on real PostgreSQL: promotions and their versions and states, lists, codes and batches
(100,000 codes in one call, exported page by page), validation with every failed rule, and bad input
answered INVALID_ARGUMENT naming the request's field."""

from __future__ import annotations

import time

import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.errors import Aborted, FailedPrecondition, InvalidArgument, NotFound
from azotte_promotions.domain.codes import ALPHABET, GENERATED_LENGTH
from tests.integration.promotions.conftest import Service
from tests.integration.promotions.promotions_support import (
    active_promotion,
    amount_off,
    checkout,
    failure,
    percent_off,
    rid,
    shared_code,
)


async def _create(service: Service, promotion: pb.Promotion) -> pb.Promotion:
    response = await service.stub.CreatePromotion(
        pb.CreatePromotionRequest(request_id=rid(), promotion=promotion), metadata=service.metadata
    )
    result: pb.Promotion = response.promotion
    return result


async def test_a_promotion_is_versioned_and_moves_through_its_states(service: Service):
    created = await _create(service, percent_off(id="spring", limits=pb.Limits(max_redemptions=10)))
    assert (created.id, created.state, created.version) == ("spring", pb.PROMOTION_STATE_DRAFT, 1)

    update = pb.UpdatePromotionRequest(
        request_id=rid(),
        promotion=pb.Promotion(id="spring", version=1, display_name="Spring", limits=pb.Limits(max_redemptions=20)),
        update_mask=FieldMask(paths=["display_name", "limits.max_redemptions"]),
    )
    updated = (await service.stub.UpdatePromotion(update, metadata=service.metadata)).promotion
    assert (updated.display_name, updated.limits.max_redemptions, updated.version) == ("Spring", 20, 2)
    assert updated.discount.percent_basis_points == 5_000  # not in the mask: kept

    stale = pb.UpdatePromotionRequest(
        request_id=rid(),
        promotion=pb.Promotion(id="spring", version=1, display_name="Stale"),
        update_mask=FieldMask(paths=["display_name"]),
    )
    mismatch = await failure(service.stub.UpdatePromotion(stale, metadata=service.metadata))
    assert isinstance(mismatch, Aborted) and mismatch.reason == "PROMOTION_VERSION_MISMATCH"

    for verb, state in (
        (service.stub.ActivatePromotion, pb.PROMOTION_STATE_ACTIVE),
        (service.stub.PausePromotion, pb.PROMOTION_STATE_PAUSED),
        (service.stub.ActivatePromotion, pb.PROMOTION_STATE_ACTIVE),
    ):
        moved = await verb(_state_request(verb, "spring"), metadata=service.metadata)
        assert moved.promotion.state == state
    ended = await service.stub.EndPromotion(
        pb.EndPromotionRequest(request_id=rid(), promotion_id="spring"), metadata=service.metadata
    )
    assert (ended.promotion.state, ended.promotion.version) == (pb.PROMOTION_STATE_ENDED, 6)
    illegal = await failure(
        service.stub.ActivatePromotion(
            pb.ActivatePromotionRequest(request_id=rid(), promotion_id="spring"), metadata=service.metadata
        )
    )
    assert isinstance(illegal, FailedPrecondition) and illegal.metadata["state"] == "ended"
    other_tenant = await failure(
        service.stub.GetPromotion(
            pb.GetPromotionRequest(promotion_id="spring"), metadata=(("x-azotte-tenant", "other"),)
        )
    )
    assert isinstance(other_tenant, NotFound)


def _state_request(verb, promotion_id: str):
    name = verb._method.decode().rsplit("/", 1)[-1]
    return getattr(pb, f"{name}Request")(request_id=rid(), promotion_id=promotion_id)


async def test_promotions_list_by_filter_and_order_page_by_page(service: Service):
    for name in ("c", "a", "b", "d"):
        created = await _create(service, percent_off(display_name=name, stackable=name in "ab"))
        if name != "d":
            await service.stub.ActivatePromotion(
                pb.ActivatePromotionRequest(request_id=rid(), promotion_id=created.id), metadata=service.metadata
            )
    seen, token = [], ""
    while True:
        page = await service.stub.ListPromotions(
            pb.ListPromotionsRequest(
                filter='state = "active"', order_by="display_name desc", page_size=2, page_token=token
            ),
            metadata=service.metadata,
        )
        seen += [p.display_name for p in page.promotions]
        if not (token := page.next_page_token):
            break
    assert seen == ["c", "b", "a"]
    stackable = await service.stub.ListPromotions(
        pb.ListPromotionsRequest(filter="stackable = true AND discount_kind = percent_off", order_by="display_name"),
        metadata=service.metadata,
    )
    assert [p.display_name for p in stackable.promotions] == ["a", "b"]
    bad = await failure(
        service.stub.ListPromotions(pb.ListPromotionsRequest(filter="color = red"), metadata=service.metadata)
    )
    assert isinstance(bad, InvalidArgument) and bad.violations[0].field == "filter"


@pytest.mark.parametrize(
    ("promotion", "field"),
    [
        (
            pb.Promotion(display_name="x", discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF)),
            "promotion.discount.percent_basis_points",
        ),
        (pb.Promotion(display_name="x"), "promotion.discount.kind"),
        (
            pb.Promotion(discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=10)),
            "promotion.display_name",
        ),
        (
            pb.Promotion(
                display_name="x",
                discount=pb.Discount(
                    kind=pb.DISCOUNT_KIND_AMOUNT_OFF, amounts=[Money(currency_code="usd", amount_minor=1)]
                ),
            ),
            "promotion.discount.amounts[0].currency_code",
        ),
        (
            pb.Promotion(
                display_name="x",
                discount=pb.Discount(
                    kind=pb.DISCOUNT_KIND_PERCENT_OFF,
                    percent_basis_points=10,
                    duration=pb.DISCOUNT_DURATION_REPEATING,
                ),
            ),
            "promotion.discount.duration_periods",
        ),
        (percent_off(limits=pb.Limits(max_redemptions=0)), "promotion.limits.max_redemptions"),
        (percent_off(eligibility=pb.Eligibility(country_codes=["USA"])), "promotion.eligibility.country_codes[0]"),
        (percent_off(id="bad id!"), "promotion.id"),
    ],
)
async def test_bad_promotions_are_invalid_argument_naming_the_field(service: Service, promotion, field):
    error = await failure(
        service.stub.CreatePromotion(
            pb.CreatePromotionRequest(request_id=rid(), promotion=promotion), metadata=service.metadata
        )
    )
    assert isinstance(error, InvalidArgument)
    assert error.violations[0].field == field


async def test_bad_checkouts_are_invalid_argument_naming_the_field(service: Service):
    promotion = await active_promotion(service, percent_off())
    cases = [
        (pb.ReserveRedemptionRequest(request_id=rid(), promotion_id=promotion.id), "checkout"),
        (
            pb.ReserveRedemptionRequest(
                request_id=rid(), promotion_id=promotion.id, checkout=pb.Checkout(customer_id="c")
            ),
            "checkout.amount",
        ),
        (
            pb.ReserveRedemptionRequest(request_id=rid(), promotion_id=promotion.id, checkout=checkout("")),
            "checkout.customer_id",
        ),
        (pb.ReserveRedemptionRequest(request_id=rid(), checkout=checkout()), "code"),
        (pb.ReserveRedemptionRequest(promotion_id=promotion.id, checkout=checkout()), "request_id"),
        (
            pb.ReserveRedemptionRequest(request_id=rid(), promotion_id=promotion.id, checkout=checkout(currency="US")),
            "checkout.amount.currency_code",
        ),
    ]
    for request, field in cases:
        error = await failure(service.stub.ReserveRedemption(request, metadata=service.metadata))
        assert isinstance(error, InvalidArgument), (field, error)
        assert error.violations[0].field == field


async def test_validation_names_every_failed_rule(service: Service):
    promotion = await active_promotion(
        service,
        amount_off(
            "EUR",
            500,
            targets=pb.Targets(plan_ids=["annual"], storefront_ids=["de"], channels=[channel_pb2.CHANNEL_APP_STORE]),
            eligibility=pb.Eligibility(
                new_customers_only=True,
                minimum_amounts=[Money(currency_code="USD", amount_minor=5_000)],
                country_codes=["DE"],
                required_plan_ids=["basic"],
                excluded_plan_ids=["premium"],
                segment_ids=["vip"],
            ),
        ),
    )
    await shared_code(service, promotion.id, "MANYRULES")
    facts = pb.CustomerFacts(has_paid_subscription=True, held_plan_ids=["premium"])
    answer = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code="many-rules", checkout=checkout(facts=facts)), metadata=service.metadata
    )
    v = answer.validation
    assert not v.eligible
    assert [pb.IneligibilityReason.Name(i.reason).removeprefix("INELIGIBILITY_REASON_") for i in v.ineligibilities] == [
        "PLAN_NOT_ELIGIBLE",
        "STOREFRONT_NOT_ELIGIBLE",
        "CHANNEL_NOT_ELIGIBLE",
        "COUNTRY_NOT_ELIGIBLE",
        "NOT_NEW_CUSTOMER",
        "BELOW_MINIMUM_AMOUNT",
        "REQUIRED_PLAN_NOT_HELD",
        "EXCLUDED_PLAN_HELD",
        "NOT_IN_SEGMENT",
        "CURRENCY_NOT_SUPPORTED",
    ]
    assert v.discount.amount_minor == 0
    unknown = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code="nope", checkout=checkout()), metadata=service.metadata
    )
    assert [i.reason for i in unknown.validation.ineligibilities] == [pb.INELIGIBILITY_REASON_CODE_NOT_FOUND]
    refused = await failure(
        service.stub.ReserveRedemption(
            pb.ReserveRedemptionRequest(request_id=rid(), code="MANYRULES", checkout=checkout(facts=facts)),
            metadata=service.metadata,
        )
    )
    assert refused.reason == "PROMOTION_NOT_ELIGIBLE"
    assert refused.metadata["reasons"].split(",")[0] == "plan_not_eligible"


async def test_a_batch_of_100000_unique_codes_is_made_in_one_call_and_exported(service: Service):
    promotion = await active_promotion(service, percent_off())
    started = time.perf_counter()
    batch = (
        await service.stub.CreateCodeBatch(
            pb.CreateCodeBatchRequest(request_id=rid(), promotion_id=promotion.id, code_count=100_000, prefix="TV"),
            metadata=service.metadata,
        )
    ).batch
    elapsed = time.perf_counter() - started
    assert batch.code_count == 100_000
    assert elapsed < 30, f"100,000 codes took {elapsed:.1f}s"

    exported: list[str] = []
    token = ""
    while True:
        page = await service.stub.ExportCodeBatch(
            pb.ExportCodeBatchRequest(batch_id=batch.id, page_size=10_000, page_token=token), metadata=service.metadata
        )
        exported += page.codes
        if not (token := page.next_page_token):
            break
    assert len(exported) == len(set(exported)) == 100_000
    assert all(c.startswith("TV") and len(c) == 2 + GENERATED_LENGTH and set(c[2:]) <= set(ALPHABET) for c in exported)

    typed = f"{exported[0][:6].lower()}-{exported[0][6:]}"  # any case, grouped with a hyphen
    assert (
        await service.stub.ValidateCode(
            pb.ValidateCodeRequest(code=typed, checkout=checkout()), metadata=service.metadata
        )
    ).validation.eligible
    single = exported[1]
    first = await service.stub.ReserveRedemption(
        pb.ReserveRedemptionRequest(request_id=rid(), code=single, checkout=checkout("a")), metadata=service.metadata
    )
    assert first.redemption.code == single
    used = await failure(
        service.stub.ReserveRedemption(
            pb.ReserveRedemptionRequest(request_id=rid(), code=single, checkout=checkout("b")),
            metadata=service.metadata,
        )
    )
    assert used.reason == "PROMOTION_CODE_EXHAUSTED"

    await service.stub.RevokeCodeBatch(
        pb.RevokeCodeBatchRequest(request_id=rid(), batch_id=batch.id), metadata=service.metadata
    )
    revoked = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code=exported[2], checkout=checkout()), metadata=service.metadata
    )
    assert [i.reason for i in revoked.validation.ineligibilities] == [pb.INELIGIBILITY_REASON_CODE_REVOKED]


async def test_shared_codes_are_case_insensitive_unique_expirable_and_revocable(service: Service):
    promotion = await active_promotion(service, percent_off())
    code = await shared_code(service, promotion.id, "Summer-Sale")
    assert code.code == "SUMMERSALE"
    taken = await failure(
        service.stub.CreatePromotionCode(
            pb.CreatePromotionCodeRequest(request_id=rid(), promotion_id=promotion.id, code="summersale"),
            metadata=service.metadata,
        )
    )
    assert taken.reason == "PROMOTION_CODE_EXISTS"
    expiring = pb.CreatePromotionCodeRequest(request_id=rid(), promotion_id=promotion.id, code="SOON")
    expiring.expire_time.FromDatetime(service.clock.now())
    await service.stub.CreatePromotionCode(expiring, metadata=service.metadata)
    expired = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code="soon", checkout=checkout()), metadata=service.metadata
    )
    assert [i.reason for i in expired.validation.ineligibilities] == [pb.INELIGIBILITY_REASON_CODE_EXPIRED]
    await service.stub.RevokePromotionCode(
        pb.RevokePromotionCodeRequest(request_id=rid(), code="summer-sale"), metadata=service.metadata
    )
    revoked = await service.stub.ValidateCode(
        pb.ValidateCodeRequest(code="SUMMERSALE", checkout=checkout()), metadata=service.metadata
    )
    assert [i.reason for i in revoked.validation.ineligibilities] == [pb.INELIGIBILITY_REASON_CODE_REVOKED]
    listed = await service.stub.ListPromotionCodes(
        pb.ListPromotionCodesRequest(promotion_id=promotion.id), metadata=service.metadata
    )
    assert [c.code for c in listed.codes] == ["SOON", "SUMMERSALE"]
    bad = await failure(
        service.stub.CreatePromotionCode(
            pb.CreatePromotionCodeRequest(request_id=rid(), promotion_id=promotion.id, code="a!"),
            metadata=service.metadata,
        )
    )
    assert isinstance(bad, InvalidArgument) and bad.violations[0].field == "code"
