"""Two-phase redemption: reserve (counts against every limit at once), confirm (the charge succeeded),
release (the charge failed), and the sweep that releases reservations nobody confirmed in time.

NOTE: exactness comes from the database, not from the checks here: a reservation judges the checkout
against the counts committed when it reads them (every failed rule named), then takes its units with
conditional UPDATEs in one statement (`LimitLedger.take`) that refuse to pass a limit; any refusal rolls
the whole transaction back, so nothing is half-counted. A crash between reserve and
confirm leaves a reservation that still counts until the sweep gives it back after its TTL: never
counted twice, never lost.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from azotte_platform.clock import tenant_times
from azotte_platform.errors import InvalidArgument, ResourceExhausted
from azotte_promotions.domain import codes
from azotte_promotions.domain.codes import PromotionCode
from azotte_promotions.domain.eligibility import Checkout, Reason, Validation
from azotte_promotions.domain.events import PromotionBudgetExhausted, PromotionExhausted
from azotte_promotions.domain.redemption import EXPIRED, Redemption, RedemptionState
from azotte_promotions.errors import (
    BudgetExhausted,
    CodeExhausted,
    CodeNotFound,
    CustomerLimitReached,
    NoAutomaticPromotion,
    NoRenewalDiscount,
    PromotionNotEligible,
    RedemptionExpired,
    RedemptionNotFound,
)
from azotte_promotions.errors import (
    PromotionExhausted as PromotionExhaustedError,
)
from azotte_promotions.ports import Hold, PromotionsUnitOfWork
from azotte_promotions.service_layer.promotions import load
from azotte_promotions.service_layer.validation import Subject, check_checkout, eligible_automatic, judge, subject

DEFAULT_RELEASE_REASON = "charge_failed"

_LIMIT_ERRORS: dict[Reason, type[ResourceExhausted]] = {
    Reason.PROMOTION_EXHAUSTED: PromotionExhaustedError,
    Reason.CODE_EXHAUSTED: CodeExhausted,
    Reason.CUSTOMER_LIMIT_REACHED: CustomerLimitReached,
    Reason.BUDGET_EXHAUSTED: BudgetExhausted,
}


@dataclass(frozen=True, slots=True)
class ReserveRequest:
    """A checkout's reservation of a code, of a promotion without code, or of the best automatic promotion."""

    request_id: str
    checkout: Checkout
    code: str = ""
    promotion_id: str = ""
    automatic: bool = False


async def reserve(uow: PromotionsUnitOfWork, tenant: str, request: ReserveRequest, ttl: timedelta) -> Redemption:
    """Reserve a redemption for `request.checkout`, held for `ttl` unless confirmed or released."""
    check_checkout(request.checkout, reserving=True)
    if (bool(request.code), bool(request.promotion_id), request.automatic).count(True) != 1:
        raise InvalidArgument.field("code", "name a code, a promotion_id, or automatic")
    if request.automatic:
        return await _reserve_automatic(uow, tenant, request, ttl)
    code: PromotionCode | None = None
    promotion_id = request.promotion_id
    if request.code:
        code = await uow.codes.get(tenant, codes.normalize(request.code))
        if code is None or not code.usable_by(request.checkout.customer_id):
            raise CodeNotFound(f"code {request.code!r} not found")
        promotion_id = code.promotion_id
    # NOTE: read without a lock: the rules are judged on what is committed now, and the counts are taken
    # by the ledger's conditional UPDATEs, which alone decide the last unit. The promotion's row is locked
    # only from that statement to the commit, so reservations of one promotion queue as briefly as can be.
    promotion = await load(uow, tenant, promotion_id)
    found = await subject(uow, tenant, promotion, code, request.checkout.customer_id)
    validation = judge(found, request.checkout, uow)
    _refuse_unless_eligible(validation)
    if (refused := await uow.ledger.take(_hold(tenant, found, request.checkout, validation))) is not None:
        raise _limit_error(refused)
    return await _add(uow, tenant, request, found, validation, ttl)


async def _reserve_automatic(
    uow: PromotionsUnitOfWork, tenant: str, request: ReserveRequest, ttl: timedelta
) -> Redemption:
    """The active automatic promotion taking the most off the checkout (of equal ones, the earliest created)
    whose limits have room; NO_AUTOMATIC_PROMOTION when there is none."""
    checkout = request.checkout
    # NOTE: a limit a concurrent checkout used up since it was judged refuses the take, which is undone, and the
    # next best is tried.
    for found, validation in await eligible_automatic(uow, tenant, checkout):
        if await uow.ledger.try_take(_hold(tenant, found, checkout, validation)) is None:
            return await _add(uow, tenant, request, found, validation, ttl)
    raise NoAutomaticPromotion("the checkout is eligible for no active automatic promotion")


def _hold(tenant: str, found: Subject, checkout: Checkout, validation: Validation) -> Hold:
    code = found.code
    return Hold(
        tenant,
        found.promotion.id,
        checkout.customer_id,
        checkout.currency_code,
        validation.discount_minor,
        found.promotion.definition.limits.max_per_customer,
        code.code if code else "",
        code.max_per_customer if code else None,
    )


async def _add(
    uow: PromotionsUnitOfWork,
    tenant: str,
    request: ReserveRequest,
    found: Subject,
    validation: Validation,
    ttl: timedelta,
) -> Redemption:
    """Insert the reservation whose units were taken."""
    now = uow.clock.now()
    checkout, code = request.checkout, found.code
    redemption = Redemption(
        tenant_id=tenant,
        id=f"rdm_{secrets.token_hex(10)}",
        request_id=request.request_id,
        promotion_id=found.promotion.id,
        customer_id=checkout.customer_id,
        currency_code=checkout.currency_code,
        gross_minor=checkout.amount_minor,
        discount_minor=validation.discount_minor,
        expires_at=now + ttl,
        created_at=now,
        code=code.code if code else "",
        batch_id=code.batch_id if code else "",
        plan_id=checkout.plan_id,
        product_line=checkout.product_line,
        storefront_id=checkout.storefront_id,
        channel=checkout.channel,
        duration=validation.duration,
        duration_periods=validation.duration_periods,
        extra_trial_days=validation.extra_trial_days,
        renewal_percent_basis_points=validation.renewal_percent_basis_points,
        renewal_amount_off_minor=validation.renewal_amount_off_minor,
    )
    await uow.redemptions.add(redemption)
    return redemption


async def confirm(uow: PromotionsUnitOfWork, tenant: str, redemption_id: str, charge_id: str) -> Redemption:
    """Settle a reservation whose charge succeeded; publishes promotion.redeemed (and what it used up)."""
    redemption = await _load(uow, tenant, redemption_id)
    if redemption.state is RedemptionState.CONFIRMED:
        return redemption
    hold = _hold_of(redemption)
    if redemption.timed_out:
        # NOTE: the charge went through after the reservation timed out: take its units again if they are
        # still free (the promotion's lock first, as a reservation does), else the caller voids the charge.
        promotion = await load(uow, tenant, redemption.promotion_id, lock=True)
        code = await uow.codes.get(tenant, redemption.code) if redemption.code else None
        again = _with_limits(hold, promotion.definition.limits.max_per_customer, code)
        if await uow.ledger.take(again) is not None:
            raise RedemptionExpired(f"redemption {redemption_id!r} timed out and its promotion has no room left")
    redemption.confirm(charge_id, uow.clock.now())
    reached = await uow.ledger.settle(hold)
    await uow.redemptions.save(redemption)
    uow.emit(tenant, *redemption.pull_events())
    if reached.max_redemptions is not None:
        uow.emit(tenant, PromotionExhausted(redemption.promotion_id, reached.max_redemptions, reached.confirmed_count))
    if reached.budget_minor is not None:
        uow.emit(
            tenant,
            PromotionBudgetExhausted(
                redemption.promotion_id, redemption.currency_code, reached.budget_minor, reached.confirmed_minor
            ),
        )
    return redemption


async def release(uow: PromotionsUnitOfWork, tenant: str, redemption_id: str, reason: str = "") -> Redemption:
    """Give back a reservation whose charge failed (a repeat changes nothing)."""
    redemption = await _load(uow, tenant, redemption_id)
    if redemption.release(reason or DEFAULT_RELEASE_REASON, uow.clock.now()):
        await uow.ledger.give_back(_hold_of(redemption))
        await uow.redemptions.save(redemption)
    return redemption


async def count_renewal_discount(
    uow: PromotionsUnitOfWork, tenant: str, redemption_id: str, currency_code: str, discount_minor: int
) -> bool:
    """Count one renewal's discount of a confirmed repeating or forever redemption against its promotion's budget
    in that currency; False when the budget cannot pay for it (nothing is counted). The first time what is left
    cannot pay for a discount like it, promotion.budget_exhausted (once per currency)."""
    if discount_minor <= 0:
        raise InvalidArgument.field("discount.amount_minor", "must be positive")
    redemption = await _load(uow, tenant, redemption_id, lock=False)
    if currency_code != redemption.currency_code:
        raise InvalidArgument.field("discount.currency_code", f"must be the redemption's {redemption.currency_code}")
    renews = redemption.renewal_percent_basis_points or redemption.renewal_amount_off_minor
    if redemption.state is not RedemptionState.CONFIRMED or not renews:
        raise NoRenewalDiscount(f"redemption {redemption_id!r} is not a confirmed repeating or forever discount")
    spent = await uow.ledger.spend(tenant, redemption.promotion_id, currency_code, discount_minor)
    if spent.budget_minor is not None:
        exhausted = PromotionBudgetExhausted(
            redemption.promotion_id, currency_code, spent.budget_minor, spent.confirmed_minor
        )
        uow.emit(tenant, exhausted)
    return spent.granted


async def get_redemption(uow: PromotionsUnitOfWork, tenant: str, redemption_id: str) -> Redemption:
    return await _load(uow, tenant, redemption_id, lock=False)


async def release_expired(uow_factory: Callable[[], PromotionsUnitOfWork], limit: int) -> int:
    """Release up to `limit` reservations past their expiry, every tenant's by its own now; how many."""
    async with uow_factory() as uow:
        times = tenant_times(uow.clock)
        expired = await uow.redemptions.claim_expired(times, limit)
        for redemption in expired:
            if redemption.release(EXPIRED, times.of(redemption.tenant_id)):
                await uow.ledger.give_back(_hold_of(redemption))
                await uow.redemptions.save(redemption)
        await uow.commit()
        return len(expired)


async def _load(uow: PromotionsUnitOfWork, tenant: str, redemption_id: str, *, lock: bool = True) -> Redemption:
    if not redemption_id:
        raise InvalidArgument.field("redemption_id", "is required")
    redemption = await uow.redemptions.get(tenant, redemption_id, for_update=lock)
    if redemption is None:
        raise RedemptionNotFound(f"redemption {redemption_id!r} not found")
    return redemption


def _hold_of(redemption: Redemption) -> Hold:
    return Hold(
        redemption.tenant_id,
        redemption.promotion_id,
        redemption.customer_id,
        redemption.currency_code,
        redemption.discount_minor,
        code=redemption.code,
    )


def _with_limits(hold: Hold, max_per_customer: int | None, code: PromotionCode | None) -> Hold:
    return Hold(
        hold.tenant_id,
        hold.promotion_id,
        hold.customer_id,
        hold.currency_code,
        hold.discount_minor,
        max_per_customer,
        hold.code,
        code.max_per_customer if code else None,
    )


def _refuse_unless_eligible(validation: Validation) -> None:
    """PROMOTION_NOT_ELIGIBLE naming every failed rule; only limits failed: the first limit's own error."""
    if validation.eligible:
        return
    rules = [f.reason for f in validation.failures if not f.reason.is_limit]
    if not rules:
        raise _limit_error(validation.failures[0].reason, validation.failures[0].message)
    messages = "; ".join(f.message for f in validation.failures)
    raise PromotionNotEligible(
        f"the promotion does not apply: {messages}",
        metadata={"reasons": ",".join(f.reason.value for f in validation.failures)},
    )


def _limit_error(reason: Reason, message: str = "") -> ResourceExhausted:
    error = _LIMIT_ERRORS[reason]
    return error(message or f"the promotion's limit is reached: {reason.value}", metadata={"reason": reason.value})
