"""The promotion aggregate: a discount, what it applies to, when, its limits and eligibility, and its state.

A promotion is versioned: every change (an update, a state change) adds one to `version`, and an update
names the version it was based on (optimistic concurrency). Its usage (reserved and confirmed
redemptions and discount) is counted by the redemption use cases in the database, not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_platform.locales import LocaleProblem, canonical_locale
from azotte_promotions.domain.events import PromotionCreated, PromotionStateChanged, PromotionUpdated
from azotte_promotions.domain.store_offers import StoreOffers
from azotte_promotions.errors import IllegalPromotionTransition, InvalidPromotion, PromotionVersionMismatch

MAX_PERCENT_BASIS_POINTS = 10_000
MAX_NAME = 200
MAX_TEXT = 4000


class PromotionState(StrEnum):
    """draft -> active <-> paused; any but ended -> ended (terminal)."""

    DRAFT = "draft"
    ACTIVE = "active"
    PAUSED = "paused"
    ENDED = "ended"


TRANSITIONS: dict[PromotionState, frozenset[PromotionState]] = {
    PromotionState.DRAFT: frozenset({PromotionState.ACTIVE, PromotionState.ENDED}),
    PromotionState.ACTIVE: frozenset({PromotionState.PAUSED, PromotionState.ENDED}),
    PromotionState.PAUSED: frozenset({PromotionState.ACTIVE, PromotionState.ENDED}),
    PromotionState.ENDED: frozenset(),
}


class DiscountKind(StrEnum):
    PERCENT_OFF = "percent_off"
    AMOUNT_OFF = "amount_off"
    FIXED_PRICE = "fixed_price"
    EXTRA_TRIAL_DAYS = "extra_trial_days"


class DiscountDuration(StrEnum):
    ONCE = "once"
    REPEATING = "repeating"
    FOREVER = "forever"


@dataclass(frozen=True, slots=True)
class Discount:
    """What a promotion takes off, and for how many periods."""

    kind: DiscountKind
    percent_basis_points: int = 0
    amounts: dict[str, int] = field(default_factory=dict)
    """AMOUNT_OFF: the amount off per currency; FIXED_PRICE: the first-period price per currency."""
    trial_days: int = 0
    duration: DiscountDuration = DiscountDuration.ONCE
    duration_periods: int = 0

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field (under `discount.`) that does not make sense."""
        kind = self.kind
        if kind is DiscountKind.PERCENT_OFF and not 0 < self.percent_basis_points <= MAX_PERCENT_BASIS_POINTS:
            raise InvalidPromotion.field("discount.percent_basis_points", "must be between 1 and 10000")
        if kind in (DiscountKind.AMOUNT_OFF, DiscountKind.FIXED_PRICE):
            if not self.amounts:
                raise InvalidPromotion.field("discount.amounts", "must name an amount in at least one currency")
            for currency, amount in self.amounts.items():
                if amount < 0 or (kind is DiscountKind.AMOUNT_OFF and amount == 0):
                    raise InvalidPromotion.field("discount.amounts", f"{currency}: must be positive")
        if kind is DiscountKind.EXTRA_TRIAL_DAYS and not 0 < self.trial_days <= 3660:
            raise InvalidPromotion.field("discount.trial_days", "must be between 1 and 3660")
        if kind is not DiscountKind.PERCENT_OFF and self.percent_basis_points:
            raise InvalidPromotion.field("discount.percent_basis_points", "applies to percent_off only")
        if kind not in (DiscountKind.AMOUNT_OFF, DiscountKind.FIXED_PRICE) and self.amounts:
            raise InvalidPromotion.field("discount.amounts", "applies to amount_off and fixed_price only")
        if kind is not DiscountKind.EXTRA_TRIAL_DAYS and self.trial_days:
            raise InvalidPromotion.field("discount.trial_days", "applies to extra_trial_days only")
        if self.duration is DiscountDuration.REPEATING and self.duration_periods < 1:
            raise InvalidPromotion.field("discount.duration_periods", "must be at least 1 for a repeating discount")
        if self.duration is not DiscountDuration.REPEATING and self.duration_periods:
            raise InvalidPromotion.field("discount.duration_periods", "applies to a repeating discount only")
        # NOTE: a fixed first-period price and extra trial days concern the first period by definition.
        if kind in (DiscountKind.FIXED_PRICE, DiscountKind.EXTRA_TRIAL_DAYS) and self.duration is not (
            DiscountDuration.ONCE
        ):
            raise InvalidPromotion.field("discount.duration", f"must be once for {kind.value}")

    def off(self, amount_minor: int, currency: str) -> int | None:
        """The discount off `amount_minor` in `currency` (never more than it), None when the currency has none."""
        if self.kind is DiscountKind.PERCENT_OFF:
            # NOTE: rounded half up to the minor unit, in integers: never a float for money.
            return min(amount_minor, (amount_minor * self.percent_basis_points + 5_000) // 10_000)
        if self.kind is DiscountKind.EXTRA_TRIAL_DAYS:
            return 0
        if currency not in self.amounts:
            return None
        if self.kind is DiscountKind.AMOUNT_OFF:
            return min(amount_minor, self.amounts[currency])
        return max(0, amount_minor - self.amounts[currency])


@dataclass(frozen=True, slots=True)
class Targets:
    """What a promotion applies to; an empty set means any."""

    plan_ids: frozenset[str] = frozenset()
    product_lines: frozenset[str] = frozenset()
    storefront_ids: frozenset[str] = frozenset()
    channels: frozenset[Channel] = frozenset()


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits of a promotion; None means unlimited."""

    max_redemptions: int | None = None
    max_per_customer: int | None = None
    budgets: dict[str, int] = field(default_factory=dict)
    """The most discount in all, per currency (minor units)."""

    def check(self) -> None:
        if self.max_redemptions is not None and self.max_redemptions < 1:
            raise InvalidPromotion.field("limits.max_redemptions", "must be at least 1")
        if self.max_per_customer is not None and self.max_per_customer < 1:
            raise InvalidPromotion.field("limits.max_per_customer", "must be at least 1")
        for currency, budget in self.budgets.items():
            if budget < 1:
                raise InvalidPromotion.field("limits.budgets", f"{currency}: must be positive")


@dataclass(frozen=True, slots=True)
class PromotionText:
    """What a storefront shows of a promotion in one locale."""

    locale: str
    display_name: str
    description: str = ""
    disclosure: str = ""

    def check(self, path: str) -> None:
        """INVALID_ARGUMENT naming the first field of this text that does not make sense."""
        try:
            canonical = canonical_locale(self.locale)
        except LocaleProblem as problem:
            raise InvalidPromotion.field(f"{path}.locale", str(problem)) from None
        if canonical != self.locale:
            raise InvalidPromotion.field(f"{path}.locale", f"{self.locale!r} must be written {canonical!r}")
        if not self.display_name.strip() or len(self.display_name) > MAX_NAME:
            raise InvalidPromotion.field(f"{path}.display_name", f"must be non-blank and at most {MAX_NAME} characters")
        for name in ("description", "disclosure"):
            if len(getattr(self, name)) > MAX_TEXT:
                raise InvalidPromotion.field(f"{path}.{name}", f"at most {MAX_TEXT} characters")


@dataclass(frozen=True, slots=True)
class Eligibility:
    """Who may redeem; every rule that is set must hold."""

    new_customers_only: bool = False
    minimum_amounts: dict[str, int] = field(default_factory=dict)
    country_codes: frozenset[str] = frozenset()
    required_plan_ids: frozenset[str] = frozenset()
    excluded_plan_ids: frozenset[str] = frozenset()
    segment_ids: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Definition:
    """Everything a promotion's manager sets (what UpdatePromotion changes)."""

    display_name: str
    discount: Discount
    description: str = ""
    targets: Targets = Targets()
    start_at: datetime | None = None
    end_at: datetime | None = None
    limits: Limits = Limits()
    eligibility: Eligibility = Eligibility()
    stackable: bool = False
    automatic: bool = False
    """Applied without a code: the checkout charged at once gets the best active automatic promotion it suits."""
    texts: tuple[PromotionText, ...] = ()
    store_offers: StoreOffers = field(default_factory=StoreOffers)

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field that does not make sense."""
        if not self.display_name.strip():
            raise InvalidPromotion.field("display_name", "is required")
        seen: set[str] = set()
        for i, text in enumerate(self.texts):
            text.check(f"texts[{i}]")
            if text.locale in seen:
                raise InvalidPromotion.field(f"texts[{i}].locale", f"{text.locale!r} is given twice")
            seen.add(text.locale)
        self.discount.check()
        if self.automatic and self.discount.kind is DiscountKind.EXTRA_TRIAL_DAYS:
            raise InvalidPromotion.field(
                "automatic", "an automatic promotion takes money off; extra trial days need a code"
            )
        self.limits.check()
        self.store_offers.check()
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise InvalidPromotion.field("end_time", "must be after start_time")
        for currency, amount in self.eligibility.minimum_amounts.items():
            if amount < 0:
                raise InvalidPromotion.field("eligibility.minimum_amounts", f"{currency}: must not be negative")


@dataclass(slots=True)
class Promotion:
    """A tenant's promotion; changes record their events in `events` (pulled by the use case)."""

    tenant_id: str
    id: str
    definition: Definition
    state: PromotionState = PromotionState.DRAFT
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None
    events: list[object] = field(default_factory=list)

    @classmethod
    def create(cls, tenant_id: str, promotion_id: str, definition: Definition, now: datetime) -> Promotion:
        definition.check()
        promotion = cls(tenant_id, promotion_id, definition, created_at=now, updated_at=now)
        promotion.events.append(PromotionCreated(promotion.snapshot()))
        return promotion

    def snapshot(self) -> Promotion:
        """A copy without recorded events (what events carry)."""
        return replace(self, events=[])

    def update(self, definition: Definition, expected_version: int, changed: tuple[str, ...], now: datetime) -> None:
        """Replace the definition, if `expected_version` is the current one and the promotion has not ended."""
        self._expect(expected_version)
        if self.state is PromotionState.ENDED:
            raise IllegalPromotionTransition(
                f"promotion {self.id!r} has ended and cannot change", metadata={"state": self.state.value}
            )
        definition.check()
        self.definition = definition
        self._changed(now)
        self.events.append(PromotionUpdated(self.snapshot(), changed))

    def transition(self, to: PromotionState, now: datetime) -> None:
        """Move to `to` if the state machine allows it; a move to the current state changes nothing."""
        if to is self.state:
            return
        if to not in TRANSITIONS[self.state]:
            raise IllegalPromotionTransition(
                f"promotion {self.id!r} is {self.state.value} and cannot become {to.value}",
                metadata={"state": self.state.value},
            )
        previous, self.state = self.state, to
        self._changed(now)
        self.events.append(PromotionStateChanged(self.snapshot(), previous))

    def pull_events(self) -> list[object]:
        events, self.events = self.events, []
        return events

    def _expect(self, version: int) -> None:
        if version != self.version:
            raise PromotionVersionMismatch(
                f"promotion {self.id!r} is at version {self.version}, not {version}; read it again and retry",
                metadata={"version": str(self.version)},
            )

    def _changed(self, now: datetime) -> None:
        self.version += 1
        self.updated_at = now
