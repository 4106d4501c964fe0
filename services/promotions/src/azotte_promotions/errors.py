"""The errors promotions raises, one class per reason; callers match on the class."""

from __future__ import annotations

from azotte_platform.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
)


class PromotionNotFound(NotFound):
    """No promotion of the tenant has that id."""

    reason = "PROMOTION_NOT_FOUND"


class CodeNotFound(NotFound):
    """No code of the tenant is that code."""

    reason = "PROMOTION_CODE_NOT_FOUND"


class NoAutomaticPromotion(NotFound):
    """The checkout is eligible for no active automatic promotion (or their limits have no room left)."""

    reason = "NO_AUTOMATIC_PROMOTION"


class CodeBatchNotFound(NotFound):
    """No code batch of the tenant has that id."""

    reason = "CODE_BATCH_NOT_FOUND"


class RedemptionNotFound(NotFound):
    """No redemption of the tenant has that id."""

    reason = "REDEMPTION_NOT_FOUND"


class InvalidPromotion(InvalidArgument):
    """A promotion's definition does not make sense (the field is named)."""

    reason = "INVALID_PROMOTION"


class InvalidCode(InvalidArgument):
    """A code or a batch prefix is not well formed."""

    reason = "INVALID_PROMOTION_CODE"


class PromotionExists(AlreadyExists):
    """The caller-chosen promotion id is taken in the tenant."""

    reason = "PROMOTION_EXISTS"


class CodeExists(AlreadyExists):
    """The code is taken in the tenant (codes are unique per tenant, whatever their promotion)."""

    reason = "PROMOTION_CODE_EXISTS"


class IllegalPromotionTransition(FailedPrecondition):
    """The promotion's state does not allow the change; `state` in the metadata names it."""

    reason = "ILLEGAL_PROMOTION_TRANSITION"


class PromotionNotEligible(FailedPrecondition):
    """The checkout fails rules of the promotion; `reasons` in the metadata lists them (comma-separated)."""

    reason = "PROMOTION_NOT_ELIGIBLE"


class RedemptionReleased(FailedPrecondition):
    """The redemption was released and cannot be confirmed."""

    reason = "REDEMPTION_RELEASED"


class RedemptionExpired(FailedPrecondition):
    """The reservation timed out and its limits no longer allow taking it again."""

    reason = "REDEMPTION_EXPIRED"


class NoRenewalDiscount(FailedPrecondition):
    """The redemption is not a confirmed repeating or forever discount: its renewals take nothing off."""

    reason = "NO_RENEWAL_DISCOUNT"


class RedemptionConfirmed(FailedPrecondition):
    """The redemption is confirmed and cannot be released."""

    reason = "REDEMPTION_CONFIRMED"


class PromotionExhausted(ResourceExhausted):
    """Every redemption the promotion allows is reserved or confirmed."""

    reason = "PROMOTION_EXHAUSTED"


class CodeExhausted(ResourceExhausted):
    """Every redemption the code allows is reserved or confirmed."""

    reason = "PROMOTION_CODE_EXHAUSTED"


class CustomerLimitReached(ResourceExhausted):
    """The customer holds as many redemptions of the promotion (or code) as it allows."""

    reason = "CUSTOMER_LIMIT_REACHED"


class BudgetExhausted(ResourceExhausted):
    """The rest of the promotion's budget in the currency cannot pay the discount."""

    reason = "BUDGET_EXHAUSTED"


class StoreOfferNotFound(NotFound):
    """No promotion of the tenant maps to that store offer."""

    reason = "STORE_OFFER_NOT_FOUND"


class StoreOfferUnavailable(FailedPrecondition):
    """The promotion maps to no offer of that store, or is not active on that store now."""

    reason = "STORE_OFFER_UNAVAILABLE"


class SubscriptionKeyMissing(FailedPrecondition):
    """The tenant set no App Store subscription key to sign promotional offers with."""

    reason = "APP_STORE_SUBSCRIPTION_KEY_MISSING"


class PromotionVersionMismatch(Aborted):
    """The promotion changed since the version the update was based on."""

    reason = "PROMOTION_VERSION_MISMATCH"


class ReferralCodeNotFound(NotFound):
    """No customer of the tenant has that referral code."""

    reason = "REFERRAL_CODE_NOT_FOUND"


class ReferralNotFound(NotFound):
    """No referral of the tenant has that id."""

    reason = "REFERRAL_NOT_FOUND"


class ReferralProgramDisabled(FailedPrecondition):
    """The tenant's referral program is not enabled: codes are not taken at checkout."""

    reason = "REFERRAL_PROGRAM_DISABLED"


class SelfReferral(FailedPrecondition):
    """The referred customer is the referrer (same customer, identity, card or email); `match` names what."""

    reason = "SELF_REFERRAL"


class AlreadyReferred(FailedPrecondition):
    """The customer was referred before (one referral per referred customer)."""

    reason = "ALREADY_REFERRED"


class ReferralProgramVersionMismatch(Aborted):
    """The referral program changed since the version the update was based on."""

    reason = "REFERRAL_PROGRAM_VERSION_MISMATCH"


class CampaignNotFound(NotFound):
    """No campaign of the tenant has that id."""

    reason = "CAMPAIGN_NOT_FOUND"


class CampaignExists(AlreadyExists):
    """The caller-chosen campaign id is taken in the tenant."""

    reason = "CAMPAIGN_EXISTS"


class ExperimentNotFound(NotFound):
    """No experiment of the tenant has that id."""

    reason = "EXPERIMENT_NOT_FOUND"


class ExperimentExists(AlreadyExists):
    """The caller-chosen experiment id is taken in the tenant."""

    reason = "EXPERIMENT_EXISTS"


class ExperimentEnded(FailedPrecondition):
    """The experiment was stopped or shipped; `state` in the metadata."""

    reason = "EXPERIMENT_ENDED"
