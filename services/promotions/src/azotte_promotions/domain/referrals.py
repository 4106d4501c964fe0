"""Two-sided referrals: a program per tenant, one code per customer, a referral per referred customer.

A referred customer's checkout attaches the referrer's code to the subscription it makes; when that subscription
converts (its first paid period, or its creation, per the program) the referral is rewarded once: each side gets
what the first matching rule says (credit in the subscription's currency, or a single-use promotion code), the
referrer only up to the program's cap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.domain.trials import Marker

REFERRER, REFERRED = "referrer", "referred"
MAX_RULES = 100


class RewardKind(StrEnum):
    CREDIT = "credit"
    PROMOTION_CODE = "promotion_code"


class Conversion(StrEnum):
    """When a referral converts."""

    FIRST_PAID_PERIOD = "first_paid_period"
    SUBSCRIBED = "subscribed"


@dataclass(frozen=True, slots=True)
class Reward:
    """Credit per currency (minor units), or a single-use code of a promotion."""

    kind: RewardKind
    amounts: tuple[tuple[str, int], ...] = ()
    promotion_id: str = ""

    def check(self, field_name: str) -> None:
        if self.kind is RewardKind.CREDIT:
            if not self.amounts:
                raise InvalidArgument.field(f"{field_name}.amounts", "a credit reward needs an amount per currency")
            for index, (currency, amount) in enumerate(self.amounts):
                if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                    raise InvalidArgument.field(f"{field_name}.amounts[{index}].currency_code", "must be ISO 4217")
                if amount <= 0:
                    raise InvalidArgument.field(f"{field_name}.amounts[{index}].amount_minor", "must be positive")
            if len({c for c, _ in self.amounts}) != len(self.amounts):
                raise InvalidArgument.field(f"{field_name}.amounts", "one amount per currency")
        elif not self.promotion_id:
            raise InvalidArgument.field(f"{field_name}.promotion_id", "a promotion-code reward names its promotion")

    def credit_in(self, currency: str) -> int | None:
        return next((amount for c, amount in self.amounts if c == currency), None)


@dataclass(frozen=True, slots=True)
class RewardRule:
    """The rewards of referrals whose subscription matches (an empty target matches any)."""

    plan_ids: tuple[str, ...] = ()
    storefront_ids: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    referrer: Reward | None = None
    referred: Reward | None = None

    def applies(self, plan_id: str, storefront_id: str, channel: Channel) -> bool:
        return (
            (not self.plan_ids or plan_id in self.plan_ids)
            and (not self.storefront_ids or storefront_id in self.storefront_ids)
            and (not self.channels or channel in self.channels)
        )


@dataclass(frozen=True, slots=True)
class ReferralProgram:
    """A tenant's referral program; version 0 is the disabled default, never stored."""

    tenant_id: str
    enabled: bool = False
    conversion: Conversion = Conversion.FIRST_PAID_PERIOD
    max_rewards_per_referrer: int | None = None
    rules: tuple[RewardRule, ...] = ()
    version: int = 0
    updated_at: datetime | None = None

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field (under `program.`) that does not make sense."""
        if self.max_rewards_per_referrer is not None and self.max_rewards_per_referrer < 0:
            raise InvalidArgument.field("program.max_rewards_per_referrer", "must not be negative")
        if len(self.rules) > MAX_RULES:
            raise InvalidArgument.field("program.rules", f"at most {MAX_RULES} rules")
        for index, rule in enumerate(self.rules):
            if rule.referrer is None and rule.referred is None:
                raise InvalidArgument.field(f"program.rules[{index}]", "rewards neither side")
            for side, reward in ((REFERRER, rule.referrer), (REFERRED, rule.referred)):
                if reward is not None:
                    reward.check(f"program.rules[{index}].{side}")

    def rule_for(self, plan_id: str, storefront_id: str, channel: Channel) -> RewardRule | None:
        return next((r for r in self.rules if r.applies(plan_id, storefront_id, channel)), None)

    def updated(self, new: ReferralProgram, now: datetime) -> ReferralProgram:
        """`new` as the next version of this program."""
        return replace(new, tenant_id=self.tenant_id, version=self.version + 1, updated_at=now)


@dataclass(frozen=True, slots=True)
class ReferralCode:
    """A customer's one referral code, and how many referrals it was rewarded for."""

    tenant_id: str
    customer_id: str
    code: str
    created_at: datetime
    rewarded_count: int = 0


class ReferralState(StrEnum):
    PENDING = "pending"
    REWARDED = "rewarded"


@dataclass(frozen=True, slots=True)
class GivenReward:
    """What one side was given: credit, a code, or nothing and why."""

    kind: RewardKind | None = None
    currency_code: str = ""
    amount_minor: int = 0
    promotion_id: str = ""
    code: str = ""
    skipped: str = ""


@dataclass(slots=True)
class Referral:
    """A referred customer's checkout that used a referral code."""

    tenant_id: str
    id: str
    code: str
    referrer_customer_id: str
    referred_customer_id: str
    subscription_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    created_at: datetime
    state: ReferralState = ReferralState.PENDING
    converted_at: datetime | None = None
    currency_code: str = ""
    rewards: dict[str, GivenReward] = field(default_factory=dict)

    def moved_to(self, subscription_id: str, plan_id: str, storefront_id: str, channel: Channel) -> None:
        """A later checkout of the still pending referral: its subscription is the one to convert."""
        self.subscription_id, self.plan_id, self.storefront_id, self.channel = (
            subscription_id,
            plan_id,
            storefront_id,
            channel,
        )

    def rewarded(self, now: datetime, currency: str, rewards: dict[str, GivenReward]) -> None:
        """Converted and rewarded: once (the caller checked the state)."""
        self.state, self.converted_at, self.currency_code, self.rewards = (
            ReferralState.REWARDED,
            now,
            currency,
            rewards,
        )


def shared_marker(referrer: Sequence[Marker], referred: Sequence[Marker]) -> Marker | None:
    """What the referred customer shares with the referrer (same customer, identity, card or email), if anything."""
    mine = set(referrer)
    return next((marker for marker in referred if marker in mine), None)
