"""Domain events of promotions: what happened, translated into published events by `adapters/proto.py`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from azotte_promotions.domain.promotion import Promotion, PromotionState
    from azotte_promotions.domain.redemption import Redemption


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
