"""Domain events of promotions: what happened, translated into published events by `adapters/proto.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azotte_promotions.domain.campaigns import CampaignOffer
    from azotte_promotions.domain.experiments import Assignment, Variant
    from azotte_promotions.domain.promotion import Discount, Promotion, PromotionState
    from azotte_promotions.domain.redemption import Redemption
    from azotte_promotions.domain.referrals import GivenReward, Referral
    from azotte_promotions.domain.trials import TrialEligibility


@dataclass(frozen=True, slots=True)
class PromotionCreated:
    """promotion.created"""

    promotion: Promotion


@dataclass(frozen=True, slots=True)
class PromotionUpdated:
    """promotion.updated: `changed` names the fields of the update mask."""

    promotion: Promotion
    changed: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PromotionStateChanged:
    """promotion.state_changed"""

    promotion: Promotion
    previous: PromotionState


@dataclass(frozen=True, slots=True)
class PromotionRedeemed:
    """promotion.redeemed: a redemption confirmed after its charge succeeded."""

    redemption: Redemption


@dataclass(frozen=True, slots=True)
class PromotionExhausted:
    """promotion.exhausted: every redemption the promotion allows is confirmed."""

    promotion_id: str
    max_redemptions: int
    confirmed_count: int


@dataclass(frozen=True, slots=True)
class PromotionBudgetExhausted:
    """promotion.budget_exhausted: the rest of a currency's budget cannot pay for a discount like the last one."""

    promotion_id: str
    currency_code: str
    budget_minor: int
    confirmed_minor: int


@dataclass(frozen=True, slots=True)
class ReferralConverted:
    """referral.converted: the referred subscription converted, at this price."""

    referral: Referral
    currency_code: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class ReferralRewarded:
    """referral.rewarded: one side of a converted referral was given its reward (or nothing, and why)."""

    referral: Referral
    side: str
    customer_id: str
    reward: GivenReward


@dataclass(frozen=True, slots=True)
class CampaignOfferIssued:
    """campaign.offer_issued: a personal retention offer, with what its promotion gives."""

    offer: CampaignOffer
    discount: Discount | None
    """None for a trial extension."""


@dataclass(frozen=True, slots=True)
class ExperimentAssigned:
    """experiment.assigned: a customer's first exposure to an experiment."""

    assignment: Assignment
    variant: Variant
    currency_code: str


@dataclass(frozen=True, slots=True)
class TrialBlocked:
    """trial.blocked: a checkout asked for a trial the customer may not take; `eligibility` names the match."""

    customer_id: str
    plan_id: str
    request_id: str
    eligibility: TrialEligibility
