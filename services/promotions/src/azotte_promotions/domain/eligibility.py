"""Whether a promotion (and its code) applies to a checkout, and the discount it gives: every failed rule
is reported, one reason each, so a checkout can tell its customer all that stands in the way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_promotions.domain.codes import PromotionCode
from azotte_promotions.domain.promotion import Discount, DiscountDuration, DiscountKind, Promotion, PromotionState


class Reason(StrEnum):
    """Why a promotion does not apply (`IneligibilityReason` on the wire)."""

    CODE_NOT_FOUND = "code_not_found"
    CODE_REVOKED = "code_revoked"
    CODE_EXPIRED = "code_expired"
    CODE_EXHAUSTED = "code_exhausted"
    PROMOTION_NOT_ACTIVE = "promotion_not_active"
    NOT_STARTED = "not_started"
    ENDED = "ended"
    PROMOTION_EXHAUSTED = "promotion_exhausted"
    CUSTOMER_LIMIT_REACHED = "customer_limit_reached"
    BUDGET_EXHAUSTED = "budget_exhausted"
    PLAN_NOT_ELIGIBLE = "plan_not_eligible"
    PRODUCT_LINE_NOT_ELIGIBLE = "product_line_not_eligible"
    STOREFRONT_NOT_ELIGIBLE = "storefront_not_eligible"
    CHANNEL_NOT_ELIGIBLE = "channel_not_eligible"
    COUNTRY_NOT_ELIGIBLE = "country_not_eligible"
    NOT_NEW_CUSTOMER = "not_new_customer"
    BELOW_MINIMUM_AMOUNT = "below_minimum_amount"
    REQUIRED_PLAN_NOT_HELD = "required_plan_not_held"
    EXCLUDED_PLAN_HELD = "excluded_plan_held"
    NOT_IN_SEGMENT = "not_in_segment"
    CURRENCY_NOT_SUPPORTED = "currency_not_supported"

    @property
    def is_limit(self) -> bool:
        """A limit reached (RESOURCE_EXHAUSTED on reserve), rather than a rule the checkout fails."""
        return self in LIMITS


_Fail = Callable[["Reason", str], None]

LIMITS = frozenset(
    {Reason.CODE_EXHAUSTED, Reason.PROMOTION_EXHAUSTED, Reason.CUSTOMER_LIMIT_REACHED, Reason.BUDGET_EXHAUSTED}
)


@dataclass(frozen=True, slots=True)
class CustomerFacts:
    """What the caller knows about the customer's history."""

    has_paid_subscription: bool = False
    held_plan_ids: frozenset[str] = frozenset()
    segment_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Checkout:
    """The checkout a discount is asked for."""

    amount_minor: int
    currency_code: str
    customer_id: str = ""
    plan_id: str = ""
    product_line: str = ""
    storefront_id: str = ""
    country_code: str = ""
    channel: Channel | None = None
    customer: CustomerFacts = CustomerFacts()


@dataclass(frozen=True, slots=True)
class Usage:
    """A promotion's counts: redemptions and discount reserved (not yet settled) and confirmed, per currency."""

    reserved_count: int = 0
    confirmed_count: int = 0
    reserved_minor: dict[str, int] = field(default_factory=dict)
    confirmed_minor: dict[str, int] = field(default_factory=dict)

    @property
    def held(self) -> int:
        return self.reserved_count + self.confirmed_count

    def held_minor(self, currency: str) -> int:
        return self.reserved_minor.get(currency, 0) + self.confirmed_minor.get(currency, 0)


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed rule."""

    reason: Reason
    message: str


@dataclass(frozen=True, slots=True)
class Validation:
    """The answer: the discount, or every failed rule."""

    promotion_id: str
    code: str
    currency_code: str
    amount_minor: int
    failures: tuple[Failure, ...] = ()
    discount_minor: int = 0
    duration: DiscountDuration = DiscountDuration.ONCE
    duration_periods: int = 0
    extra_trial_days: int = 0
    stackable: bool = False
    renewal_percent_basis_points: int = 0
    renewal_amount_off_minor: int = 0
    """A repeating or forever discount: what each renewal takes off (a percent, or an amount in the currency)."""

    @property
    def eligible(self) -> bool:
        return not self.failures

    @property
    def final_minor(self) -> int:
        return self.amount_minor - self.discount_minor


def unknown_code(code: str, checkout: Checkout) -> Validation:
    """The answer for a code no promotion has."""
    failure = Failure(Reason.CODE_NOT_FOUND, f"no promotion has the code {code!r}")
    return Validation("", code, checkout.currency_code, checkout.amount_minor, (failure,))


def evaluate(
    promotion: Promotion,
    checkout: Checkout,
    now: datetime,
    usage: Usage,
    customer_uses: int = 0,
    code: PromotionCode | None = None,
    code_customer_uses: int = 0,
    *,
    code_revoked: bool = False,
) -> Validation:
    """Check every rule of `promotion` (and `code`) against `checkout` at `now`; `usage` and the customer's
    uses are the counts held so far (a reservation adds its own on top, exactly, in the database)."""
    d = promotion.definition
    failures: list[Failure] = []

    def fail(reason: Reason, message: str) -> None:
        failures.append(Failure(reason, message))

    if code is not None:
        if code_revoked or code.revoked:
            fail(Reason.CODE_REVOKED, f"the code {code.code!r} was revoked")
        if code.expired(now):
            fail(Reason.CODE_EXPIRED, f"the code {code.code!r} expired")
        if code.exhausted():
            fail(Reason.CODE_EXHAUSTED, f"the code {code.code!r} was used {code.held} times, its limit")
        if code.max_per_customer is not None and code_customer_uses >= code.max_per_customer:
            fail(Reason.CUSTOMER_LIMIT_REACHED, f"the customer used the code {code_customer_uses} times, its limit")
    if promotion.state is not PromotionState.ACTIVE:
        fail(Reason.PROMOTION_NOT_ACTIVE, f"the promotion is {promotion.state.value}")
    if d.start_at is not None and now < d.start_at:
        fail(Reason.NOT_STARTED, f"the promotion starts at {d.start_at.isoformat()}")
    if d.end_at is not None and now >= d.end_at:
        fail(Reason.ENDED, f"the promotion ended at {d.end_at.isoformat()}")
    limits = d.limits
    if limits.max_redemptions is not None and usage.held >= limits.max_redemptions:
        fail(Reason.PROMOTION_EXHAUSTED, f"all {limits.max_redemptions} redemptions of the promotion are taken")
    if limits.max_per_customer is not None and customer_uses >= limits.max_per_customer:
        fail(Reason.CUSTOMER_LIMIT_REACHED, f"the customer redeemed the promotion {customer_uses} times, its limit")
    _targets(promotion, checkout, fail)
    _rules(promotion, checkout, fail)
    currency = checkout.currency_code
    discount = d.discount.off(checkout.amount_minor, currency)
    if discount is None:
        fail(Reason.CURRENCY_NOT_SUPPORTED, f"the promotion gives no discount in {currency}")
        discount = 0
    budget = limits.budgets.get(currency)
    if budget is not None and usage.held_minor(currency) + discount > budget:
        fail(Reason.BUDGET_EXHAUSTED, f"the rest of the promotion's {currency} budget cannot pay this discount")
    eligible = not failures
    return Validation(
        promotion_id=promotion.id,
        code=code.code if code is not None else "",
        currency_code=currency,
        amount_minor=checkout.amount_minor,
        failures=tuple(failures),
        discount_minor=discount if eligible else 0,
        duration=d.discount.duration,
        duration_periods=d.discount.duration_periods,
        extra_trial_days=d.discount.trial_days if d.discount.kind is DiscountKind.EXTRA_TRIAL_DAYS else 0,
        stackable=d.stackable,
        **_renewal_terms(d.discount, currency),
    )


def _renewal_terms(discount: Discount, currency: str) -> dict[str, int]:
    """What a repeating or forever discount takes off each renewal (a once discount: nothing)."""
    if discount.duration is DiscountDuration.ONCE:
        return {}
    if discount.kind is DiscountKind.PERCENT_OFF:
        return {"renewal_percent_basis_points": discount.percent_basis_points}
    # NOTE: only percent_off and amount_off repeat (Discount.check); a currency without an amount has failed.
    return {"renewal_amount_off_minor": discount.amounts.get(currency, 0)}


def _targets(promotion: Promotion, checkout: Checkout, fail: _Fail) -> None:
    t = promotion.definition.targets
    if t.plan_ids and checkout.plan_id not in t.plan_ids:
        fail(Reason.PLAN_NOT_ELIGIBLE, f"the promotion applies to the plans {', '.join(sorted(t.plan_ids))}")
    if t.product_lines and checkout.product_line not in t.product_lines:
        lines = ", ".join(sorted(t.product_lines))
        fail(Reason.PRODUCT_LINE_NOT_ELIGIBLE, f"the promotion applies to the product lines {lines}")
    if t.storefront_ids and checkout.storefront_id not in t.storefront_ids:
        stores = ", ".join(sorted(t.storefront_ids))
        fail(Reason.STOREFRONT_NOT_ELIGIBLE, f"the promotion applies in the storefronts {stores}")
    if t.channels and checkout.channel not in t.channels:
        channels = ", ".join(sorted(c.value for c in t.channels))
        fail(Reason.CHANNEL_NOT_ELIGIBLE, f"the promotion applies on the channels {channels}")


def _rules(promotion: Promotion, checkout: Checkout, fail: _Fail) -> None:
    e = promotion.definition.eligibility
    facts = checkout.customer
    if e.country_codes and checkout.country_code.upper() not in e.country_codes:
        fail(Reason.COUNTRY_NOT_ELIGIBLE, f"the promotion applies in {', '.join(sorted(e.country_codes))}")
    if e.new_customers_only and facts.has_paid_subscription:
        fail(Reason.NOT_NEW_CUSTOMER, "the promotion is for customers without an earlier paid subscription")
    minimum = e.minimum_amounts.get(checkout.currency_code)
    if minimum is not None and checkout.amount_minor < minimum:
        fail(Reason.BELOW_MINIMUM_AMOUNT, f"the amount is below the minimum of {minimum} {checkout.currency_code}")
    if e.required_plan_ids and not e.required_plan_ids & facts.held_plan_ids:
        plans = ", ".join(sorted(e.required_plan_ids))
        fail(Reason.REQUIRED_PLAN_NOT_HELD, f"the promotion is for holders of {plans}")
    if held := e.excluded_plan_ids & facts.held_plan_ids:
        fail(Reason.EXCLUDED_PLAN_HELD, f"the promotion is not for holders of {', '.join(sorted(held))}")
    if e.segment_ids and not e.segment_ids & facts.segment_ids:
        fail(Reason.NOT_IN_SEGMENT, f"the promotion is for the segments {', '.join(sorted(e.segment_ids))}")
