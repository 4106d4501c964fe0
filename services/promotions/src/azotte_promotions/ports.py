"""What the promotions use cases need: repositories, the ledger of limits, and the unit of work.

The adapters implement these over PostgreSQL; the unit tests with fakes (`tests/unit/promotions/fakes.py`).
The ledger is where exactness under concurrency lives: each of its counts moves by a conditional UPDATE
in the reservation's transaction, so no two checkouts can take the same last unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from azotte_platform.clock import TenantTimes
from azotte_platform.enums import Channel
from azotte_platform.ports import AbstractUnitOfWork
from azotte_promotions.domain.campaigns import Campaign, CampaignOffer, TrialEnding, Trigger
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.eligibility import Reason, Usage
from azotte_promotions.domain.experiments import Assignment, Experiment, VariantCounts
from azotte_promotions.domain.promotion import DiscountKind, Promotion, PromotionState
from azotte_promotions.domain.redemption import Redemption
from azotte_promotions.domain.referrals import Referral, ReferralCode, ReferralProgram, ReferralState
from azotte_promotions.domain.store_offers import SubscriptionKey
from azotte_promotions.domain.trials import Marker, Trial, TrialMatch

# ---------------------------------------------------------------------------------------- list queries


@dataclass(frozen=True, slots=True)
class TimeBound:
    """A comparison of a time with `at`: op is one of =, !=, <, <=, >, >=."""

    op: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PromotionQuery:
    """Which promotions a list shows (every condition must hold) and their order (id breaks ties)."""

    state: PromotionState | None = None
    stackable: bool | None = None
    automatic: bool | None = None
    discount_kind: DiscountKind | None = None
    created: tuple[TimeBound, ...] = ()
    order_by: str = "created_at"
    """created_at, updated_at or display_name."""
    descending: bool = False


# ---------------------------------------------------------------------------------------- repositories


class PromotionRepository(Protocol):
    """Promotions and their usage counts."""

    async def add(self, promotion: Promotion) -> None:
        """Insert a new promotion; an id taken in the tenant is `PromotionExists`."""
        ...

    async def get(self, tenant_id: str, promotion_id: str, *, for_update: bool = False) -> Promotion | None:
        """The promotion, its row locked until the unit of work ends when `for_update` (reservations of one
        promotion take their counts one after the other)."""
        ...

    async def save(self, promotion: Promotion, expected_version: int) -> None:
        """Write back a changed promotion, if it is still at `expected_version` (else `PromotionVersionMismatch`)."""
        ...

    async def usage(self, tenant_id: str, promotion_ids: Sequence[str]) -> dict[str, Usage]:
        """The usage counts of promotions."""
        ...

    async def active_automatic(self, tenant_id: str) -> list[Promotion]:
        """The tenant's active automatic promotions, earliest created first."""
        ...

    async def find_by_store_offer(self, tenant_id: str, channel: Channel, offer_id: str) -> Promotion | None:
        """The promotion mapped to the App Store offer id or Google Play offer id (the latest created, if several)."""
        ...

    async def find(
        self, tenant_id: str, limit: int, *, query: PromotionQuery, after: Sequence[str] | None = None
    ) -> list[Promotion]:
        """Promotions matching `query` in its order, after the sort key `after` ([value, id])."""
        ...


class CodeRepository(Protocol):
    """Codes (stored normalized) and code batches."""

    async def add(self, code: PromotionCode) -> None:
        """Insert a shared code; a code taken in the tenant is `CodeExists`."""
        ...

    async def add_batch(self, batch: CodeBatch, codes: Sequence[str]) -> int:
        """Insert a batch, if new, and those of `codes` not taken yet in the tenant; how many codes were inserted."""
        ...

    async def get(self, tenant_id: str, code: str) -> PromotionCode | None:
        """A code by its normalized form; a batch code carries its batch's expiry and revocation."""
        ...

    async def find(self, tenant_id: str, promotion_id: str, limit: int, after: str | None) -> list[PromotionCode]:
        """The shared codes of a promotion in code order, after the code `after`."""
        ...

    async def revoke(self, tenant_id: str, code: str, now: datetime) -> None: ...

    async def bind(self, tenant_id: str, code: str, customer_id: str) -> None:
        """Make `code` personal: only `customer_id` may use it."""
        ...

    async def get_batch(self, tenant_id: str, batch_id: str) -> CodeBatch | None: ...

    async def revoke_batch(self, tenant_id: str, batch_id: str, now: datetime) -> None: ...

    async def export(self, tenant_id: str, batch_id: str, limit: int, after: str | None) -> list[str]:
        """The codes of a batch in code order, after the code `after`."""
        ...


@dataclass(frozen=True, slots=True)
class Hold:
    """What one reservation takes: a unit of the promotion (and of its code) for a customer, and its discount.

    The limits are the promotion's and the code's as read under the promotion's row lock; the ledger
    checks them again in each conditional UPDATE.
    """

    tenant_id: str
    promotion_id: str
    customer_id: str
    currency_code: str
    discount_minor: int
    max_per_customer: int | None = None
    code: str = ""
    code_max_per_customer: int | None = None


@dataclass(frozen=True, slots=True)
class Exhaustion:
    """What a confirmation used up: the promotion's last redemption, or a currency's budget."""

    max_redemptions: int | None = None
    confirmed_count: int = 0
    budget_minor: int | None = None
    confirmed_minor: int = 0


@dataclass(frozen=True)
class Spend:
    """What counting a renewal's discount did: whether the budget paid for it, and the budget's figures when this
    is the first time what is left of it cannot pay for a discount like it (`budget_minor` None otherwise)."""

    granted: bool
    budget_minor: int | None = None
    confirmed_minor: int = 0


class LimitLedger(Protocol):
    """The counts limits are checked against, moved only by conditional updates in the caller's transaction."""

    async def customer_uses(self, tenant_id: str, promotion_id: str, customer_id: str, code: str = "") -> int:
        """How many redemptions the customer holds (reserved or confirmed) of the promotion, or of `code`."""
        ...

    async def take(self, hold: Hold) -> Reason | None:
        """Count `hold` against every limit at once; the first limit that does not allow it (nothing is
        counted then: the caller's transaction must roll back), else None."""
        ...

    async def try_take(self, hold: Hold) -> Reason | None:
        """As `take`, but a refusal is undone at once: the transaction goes on (to take another hold)."""
        ...

    async def settle(self, hold: Hold) -> Exhaustion:
        """Move a held reservation to confirmed; what the promotion and the currency's budget reached first now."""
        ...

    async def give_back(self, hold: Hold) -> None:
        """Release a held reservation's counts and discount."""
        ...

    async def spend(self, tenant_id: str, promotion_id: str, currency_code: str, discount_minor: int) -> Spend:
        """Count a renewal's discount as given unless the currency's budget cannot pay for it (nothing counted)."""
        ...


class RedemptionRepository(Protocol):
    """Redemptions, one per reserving request id."""

    async def add(self, redemption: Redemption) -> None: ...

    async def get(self, tenant_id: str, redemption_id: str, *, for_update: bool = False) -> Redemption | None: ...

    async def save(self, redemption: Redemption) -> None: ...

    async def claim_expired(self, times: TenantTimes, limit: int) -> list[Redemption]:
        """Lock up to `limit` reservations past their expiry (each by its tenant's now) that nobody holds,
        ordered by promotion (so that sweeps lock promotions in one order)."""
        ...


class TrialRepository(Protocol):
    """Trials taken, with their takers' markers."""

    async def add(self, trial: Trial) -> bool:
        """Record a trial once per subscription; False when it was recorded already."""
        ...

    async def matching(self, tenant_id: str, product_line: str, markers: Sequence[Marker]) -> list[TrialMatch]:
        """The trials of the product line that share one of `markers`, each with the marker it shares."""
        ...


@dataclass(frozen=True, slots=True)
class ReferralQuery:
    """Which referrals a list shows (newest first; every condition must hold)."""

    referrer_customer_id: str | None = None
    referred_customer_id: str | None = None
    state: ReferralState | None = None


class ReferralRepository(Protocol):
    """The referral program, customers' referral codes and referrals."""

    async def get_program(self, tenant_id: str) -> ReferralProgram | None: ...

    async def save_program(self, program: ReferralProgram) -> None:
        """Store `program` (version n) if the stored one is at version n - 1, else `ReferralProgramVersionMismatch`."""
        ...

    async def add_code(self, code: ReferralCode) -> bool:
        """Insert a customer's code; False when the customer has one or the code is taken."""
        ...

    async def code_of(self, tenant_id: str, customer_id: str) -> ReferralCode | None: ...

    async def find_code(self, tenant_id: str, code: str) -> ReferralCode | None: ...

    async def take_reward(self, tenant_id: str, customer_id: str, cap: int | None) -> bool:
        """Count one more rewarded referral of the referrer's code if under `cap` (one conditional update)."""
        ...

    async def add(self, referral: Referral) -> None:
        """Insert a referral; a referred customer already referred is `AlreadyReferred`."""
        ...

    async def get(self, tenant_id: str, referral_id: str) -> Referral | None: ...

    async def of_referred(self, tenant_id: str, customer_id: str, *, for_update: bool = False) -> Referral | None: ...

    async def save(self, referral: Referral) -> None: ...

    async def find(
        self, tenant_id: str, limit: int, *, query: ReferralQuery, after: Sequence[str] | None = None
    ) -> list[Referral]:
        """Referrals matching `query`, newest first, after the sort key `after` ([created_at iso, id])."""
        ...


class CampaignRepository(Protocol):
    """Campaigns and the offers they issued."""

    async def add(self, campaign: Campaign) -> None:
        """Insert a new campaign; an id taken in the tenant is `CampaignExists`."""
        ...

    async def get(self, tenant_id: str, campaign_id: str) -> Campaign | None:
        """The campaign with the number of offers it issued."""
        ...

    async def save(self, campaign: Campaign) -> None: ...

    async def active_for(self, tenant_id: str, trigger: Trigger) -> list[Campaign]:
        """The tenant's active campaigns on `trigger`, oldest first."""
        ...

    async def find(self, tenant_id: str, limit: int, after: Sequence[str] | None = None) -> list[Campaign]:
        """Campaigns oldest first, after the sort key `after` ([created_at iso, id])."""
        ...

    async def offers_of(self, tenant_id: str, campaign_id: str, customer_id: str) -> int:
        """How many offers the campaign issued the customer."""
        ...

    async def last_offer_at(self, tenant_id: str, customer_id: str) -> datetime | None:
        """When the customer got their last offer of any campaign."""
        ...

    async def add_offer(self, offer: CampaignOffer) -> bool:
        """Insert an offer; False when the campaign already answered its event, or another offer took its ordinal."""
        ...

    async def has_offer(self, tenant_id: str, offer_id: str) -> bool: ...

    async def note_trial_ending(self, ending: TrialEnding) -> None:
        """Keep (or move) a trial's end until it ends."""
        ...

    async def forget_trial_ending(self, tenant_id: str, subscription_id: str) -> None:
        """The trial ended (converted or expired): no campaign reacts to its end any more."""
        ...

    async def due_trial_endings(self, times: TenantTimes, limit: int) -> list[tuple[TrialEnding, tuple[str, ...]]]:
        """Trials within `days_before_trial_end` of their end by their tenant's now (and not ended), each with the
        ids of the active trial-ending campaigns due that have not judged it yet; at most `limit`."""
        ...

    async def judged_trial_ending(self, tenant_id: str, subscription_id: str, campaign_ids: Sequence[str]) -> None:
        """These campaigns judged the trial's ending (an offer or not): they do not judge it again."""
        ...

    async def find_offers(
        self,
        tenant_id: str,
        limit: int,
        *,
        campaign_id: str | None = None,
        customer_id: str | None = None,
        after: Sequence[str] | None = None,
    ) -> list[CampaignOffer]:
        """Offers newest first, after the sort key `after` ([issued_at iso, id])."""
        ...


class SubscriptionKeyRepository(Protocol):
    """Each tenant's App Store subscription key."""

    async def get(self, tenant_id: str) -> SubscriptionKey | None: ...

    async def put(self, key: SubscriptionKey, now: datetime) -> None:
        """Set the tenant's key (replacing any earlier one)."""
        ...


class ExperimentRepository(Protocol):
    """Experiments, their customers' assignments and what those customers paid since."""

    async def add(self, experiment: Experiment) -> None:
        """Insert a new experiment; an id taken in the tenant is `ExperimentExists`."""
        ...

    async def get(self, tenant_id: str, experiment_id: str, *, for_update: bool = False) -> Experiment | None: ...

    async def save(self, experiment: Experiment) -> None: ...

    async def find(self, tenant_id: str, limit: int, after: Sequence[str] | None = None) -> list[Experiment]:
        """Experiments oldest first, after the sort key `after` ([created_at iso, id])."""
        ...

    async def assignment(self, tenant_id: str, experiment_id: str, customer_id: str) -> Assignment | None: ...

    async def assign(self, assignment: Assignment) -> bool:
        """Record a first assignment; False when the customer has one (the caller reads it)."""
        ...

    async def record_payment(self, tenant_id: str, customer_id: str, currency_code: str, net_minor: int) -> None:
        """Add a payment (negative: a refund) to the customer's assignments in running experiments of the currency."""
        ...

    async def counts(self, tenant_id: str, experiment_id: str) -> dict[str, VariantCounts]:
        """Per variant: customers exposed, converted (paid since), and their net revenue."""
        ...


# ---------------------------------------------------------------------------------------- peers


class People(Protocol):
    """What other services know of a person: the product line of a plan (catalog), a customer's channel
    identities (lifecycle) and payment-method fingerprints (payments), in the tenant of the request context."""

    async def product_line(self, plan_id: str) -> str:
        """The plan's catalog family; an unknown plan is NotFound."""
        ...

    async def markers(self, customer_id: str, *, with_email: bool = False) -> tuple[Marker, ...]:
        """The customer's markers now (its email too when asked); an unknown customer is NotFound."""
        ...


class TrialExtensions(Protocol):
    """Lifecycle's trials, in the tenant of the request context."""

    async def extend_trial(self, request_id: str, subscription_id: str, days: int) -> bool:
        """Move the trial end `days` later, once per request id; False when the subscription no longer trials."""
        ...


class Credits(Protocol):
    """Payments' account credit, granted once per request id (a repeat answers the first grant)."""

    async def grant(
        self,
        request_id: str,
        customer_id: str,
        amount_minor: int,
        currency_code: str,
        reason: str,
        *,
        storefront_id: str,
        channel: str,
        plan_id: str,
    ) -> None: ...


class PromotionsUnitOfWork(AbstractUnitOfWork, Protocol):
    """The repositories and the ledger over one transaction; events emitted are published if it commits."""

    @property
    def promotions(self) -> PromotionRepository: ...

    @property
    def codes(self) -> CodeRepository: ...

    @property
    def ledger(self) -> LimitLedger: ...

    @property
    def redemptions(self) -> RedemptionRepository: ...

    @property
    def trials(self) -> TrialRepository: ...

    @property
    def referrals(self) -> ReferralRepository: ...

    @property
    def campaigns(self) -> CampaignRepository: ...

    @property
    def experiments(self) -> ExperimentRepository: ...

    @property
    def subscription_keys(self) -> SubscriptionKeyRepository: ...
