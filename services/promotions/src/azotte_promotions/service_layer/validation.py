"""Validate a code or an automatic promotion against a checkout: the discount, or every failed rule."""

from __future__ import annotations

from dataclasses import dataclass

from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain import codes
from azotte_promotions.domain.codes import PromotionCode
from azotte_promotions.domain.eligibility import Checkout, Usage, Validation, evaluate, unknown_code
from azotte_promotions.domain.promotion import Promotion
from azotte_promotions.errors import NoAutomaticPromotion
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer.promotions import load


@dataclass(frozen=True, slots=True)
class Subject:
    """The promotion asked about, with its code (if any) and the counts it is judged against."""

    promotion: Promotion
    code: PromotionCode | None
    usage: Usage
    customer_uses: int
    code_customer_uses: int


def check_checkout(checkout: Checkout, *, reserving: bool = False) -> None:
    """INVALID_ARGUMENT naming the checkout's field that is missing or wrong."""
    if len(checkout.currency_code) != 3 or not checkout.currency_code.isalpha():
        raise InvalidArgument.field("checkout.amount.currency_code", "must be an ISO 4217 code")
    if checkout.amount_minor < 0:
        raise InvalidArgument.field("checkout.amount.amount_minor", "must not be negative")
    if reserving and not checkout.customer_id:
        raise InvalidArgument.field("checkout.customer_id", "is required")


async def subject(
    uow: PromotionsUnitOfWork,
    tenant: str,
    promotion: Promotion,
    code: PromotionCode | None,
    customer_id: str,
) -> Subject:
    """The promotion's counts and the customer's uses (of the promotion and of its code)."""
    usage = (await uow.promotions.usage(tenant, [promotion.id])).get(promotion.id, Usage())
    uses = await uow.ledger.customer_uses(tenant, promotion.id, customer_id) if customer_id else 0
    code_uses = 0
    if code is not None and code.max_per_customer is not None and customer_id:
        code_uses = await uow.ledger.customer_uses(tenant, promotion.id, customer_id, code.code)
    return Subject(promotion, code, usage, uses, code_uses)


def judge(found: Subject, checkout: Checkout, uow: PromotionsUnitOfWork) -> Validation:
    return evaluate(
        found.promotion,
        checkout,
        uow.clock.now(),
        found.usage,
        found.customer_uses,
        found.code,
        found.code_customer_uses,
    )


async def validate_code(uow: PromotionsUnitOfWork, tenant: str, code: str, checkout: Checkout) -> Validation:
    """The discount `code` gives `checkout`; an unknown code answers CODE_NOT_FOUND, not an error."""
    if not code:
        raise InvalidArgument.field("code", "is required")
    check_checkout(checkout)
    normalized = codes.normalize(code)
    found = await uow.codes.get(tenant, normalized)
    if found is None or not found.usable_by(checkout.customer_id):
        return unknown_code(normalized, checkout)
    promotion = await load(uow, tenant, found.promotion_id)
    return judge(await subject(uow, tenant, promotion, found, checkout.customer_id), checkout, uow)


async def validate_promotion(
    uow: PromotionsUnitOfWork, tenant: str, promotion_id: str, checkout: Checkout, *, automatic: bool = False
) -> Validation:
    """The discount an automatic promotion gives `checkout`; with `automatic` (and no promotion id), the discount
    the checkout would get without a code: the best of `eligible_automatic`'s, NO_AUTOMATIC_PROMOTION when it
    suits none."""
    if automatic == bool(promotion_id):
        raise InvalidArgument.field("promotion_id", "name a promotion_id or automatic")
    check_checkout(checkout)
    if automatic:
        eligible = await eligible_automatic(uow, tenant, checkout)
        if not eligible:
            raise NoAutomaticPromotion("the checkout is eligible for no active automatic promotion")
        return eligible[0][1]
    promotion = await load(uow, tenant, promotion_id)
    return judge(await subject(uow, tenant, promotion, None, checkout.customer_id), checkout, uow)


async def eligible_automatic(
    uow: PromotionsUnitOfWork, tenant: str, checkout: Checkout
) -> list[tuple[Subject, Validation]]:
    """The active automatic promotions taking money off the checkout, the most first (of equal ones, the
    earliest created), each with its validation."""
    judged: list[tuple[Subject, Validation]] = []
    for promotion in await uow.promotions.active_automatic(tenant):
        found = await subject(uow, tenant, promotion, None, checkout.customer_id)
        validation = judge(found, checkout, uow)
        if validation.eligible and validation.discount_minor > 0:
            judged.append((found, validation))
    # NOTE: a stable sort of the promotions in the order they were created.
    return sorted(judged, key=lambda pair: -pair[1].discount_minor)
