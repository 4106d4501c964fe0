"""Domain events recorded by the subscription aggregate, and its audit history entries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_lifecycle.domain.contracts import ContractFeature
from azotte_lifecycle.domain.discounts import RecurringDiscount
from azotte_lifecycle.domain.periods import BillingInterval
from azotte_lifecycle.domain.proration import Proration
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_platform.enums import Channel, SubscriptionState


class EventType(StrEnum):
    """Event types (CloudEvents `ce-type`) published for subscription transitions.

    A failed charge records one event naming the resulting state: `renewal_failed` while the
    subscription is (or stays) past_due or stays on_hold, `on_hold` when it enters hold, and
    `expired` / `trial.expired` when it ends.
    """

    SUBSCRIPTION_CREATED = "subscription.created"
    TRIAL_STARTED = "trial.started"
    SUBSCRIPTION_ACTIVATED = "subscription.activated"
    SUBSCRIPTION_RENEWED = "subscription.renewed"
    SUBSCRIPTION_RENEWAL_FAILED = "subscription.renewal_failed"
    SUBSCRIPTION_ON_HOLD = "subscription.on_hold"
    SUBSCRIPTION_RECOVERED = "subscription.recovered"
    SUBSCRIPTION_PAUSED = "subscription.paused"
    SUBSCRIPTION_RESUMED = "subscription.resumed"
    SUBSCRIPTION_CANCEL_SCHEDULED = "subscription.cancel_scheduled"
    SUBSCRIPTION_REACTIVATED = "subscription.reactivated"
    SUBSCRIPTION_PLAN_CHANGED = "subscription.plan_changed"
    SUBSCRIPTION_PLAN_CHANGE_SCHEDULED = "subscription.plan_change_scheduled"
    SUBSCRIPTION_FEATURES_CHANGED = "subscription.features_changed"
    SUBSCRIPTION_PRICE_CHANGE_SCHEDULED = "subscription.price_change_scheduled"
    SUBSCRIPTION_PRICE_CHANGE_CONSENTED = "subscription.price_change_consented"
    SUBSCRIPTION_PRICE_CHANGE_DECLINED = "subscription.price_change_declined"
    SUBSCRIPTION_EXPIRED = "subscription.expired"
    SUBSCRIPTION_REINSTATED = "subscription.reinstated"
    SUBSCRIPTION_CONSUMPTION_REQUESTED = "subscription.consumption_requested"
    SUBSCRIPTION_DUPLICATE_ACROSS_CHANNELS = "subscription.duplicate_across_channels"
    TRIAL_CONVERTED = "trial.converted"
    TRIAL_EXPIRED = "trial.expired"
    TRIAL_EXTENDED = "trial.extended"


class Cause(StrEnum):
    """Why a transition happened."""

    CUSTOMER_REQUEST = "customer_request"
    CHECKOUT = "checkout"
    CHARGE_SUCCEEDED = "charge_succeeded"
    SOFT_DECLINE = "soft_decline"
    HARD_DECLINE = "hard_decline"
    AUTHENTICATION_REQUIRED = "authentication_required"
    RETRIES_EXHAUSTED = "retries_exhausted"
    GRACE_ENDED = "grace_ended"
    HOLD_ENDED = "hold_ended"
    PAUSE_ENDED = "pause_ended"
    PERIOD_ENDED_AFTER_CANCEL = "period_ended_after_cancel"
    TRIAL_ENDED_WITHOUT_PAYMENT_METHOD = "trial_ended_without_payment_method"
    SCHEDULED_PLAN_CHANGE = "scheduled_plan_change"
    CHANNEL_EVENT = "channel_event"
    PRICE_CHANGE = "price_change"
    CAMPAIGN = "campaign"
    PRICE_CHANGE_DECLINED = "price_change_declined"
    INVOICE_ISSUED = "invoice_issued"
    INVOICE_OVERDUE = "invoice_overdue"
    INVOICE_PAID = "invoice_paid"
    INVOICE_VOIDED = "invoice_voided"
    CONTRACT_STARTED = "contract_started"
    CONTRACT_ENDED = "contract_ended"


@dataclass(frozen=True, slots=True)
class PendingPlanChange:
    """A plan change waiting for the end of the current period."""

    plan_id: str
    amount_minor: int
    interval: BillingInterval
    effective_at: datetime


@dataclass(frozen=True, slots=True)
class PendingPriceChange:
    """A higher catalog price the subscriber was told of at `noticed_at`, charged from the renewal at
    `effective_at` on (`old_amount_minor` is what renewals cost when the notice was given). Where the
    storefront requires consent, the subscriber accepted it at `consented_at` or refused it at `declined_at`
    (both None: not answered yet). `price_effective_at` is when the catalog's new price version takes effect.

    The same shape records a change a renewal applies (`Subscription.applied_price_change`), told or not.
    """

    old_amount_minor: int
    amount_minor: int
    effective_at: datetime
    noticed_at: datetime | None
    consent_required: bool = False
    consented_at: datetime | None = None
    declined_at: datetime | None = None
    price_effective_at: datetime | None = None

    @property
    def awaiting_consent(self) -> bool:
        """Whether the subscriber still has to answer it."""
        return self.consent_required and self.consented_at is None and self.declined_at is None

    @property
    def unaccepted(self) -> bool:
        """Whether it needs consent the subscriber has not given (not answered, or refused)."""
        return self.consent_required and self.consented_at is None


class PriceChangeOutcome(StrEnum):
    """Where a price change stands for one subscriber (the impact report counts them)."""

    NOTIFIED = "notified"
    CONSENTED = "consented"
    DECLINED = "declined"
    RENEWED = "renewed"
    CHURNED = "churned"


@dataclass(frozen=True, slots=True)
class PriceChangeRecord:
    """A subscriber's price change as it stood at `at`: written for the impact report."""

    change: PendingPriceChange
    outcome: PriceChangeOutcome
    at: datetime


@dataclass(frozen=True, slots=True)
class SubscriptionSnapshot:
    """What consumers need to know about a subscription right after a transition."""

    subscription_id: str
    tenant_id: str
    customer_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    billing_origin: BillingOrigin
    state: SubscriptionState
    cancel_at_period_end: bool
    period_index: int
    current_period_start: datetime
    current_period_end: datetime
    trial_end: datetime | None
    grace_end: datetime | None
    hold_end: datetime | None
    resume_at: datetime | None
    currency_code: str
    renewal_amount_minor: int
    retry_attempt: int
    pending_plan_change: PendingPlanChange | None
    pending_price_change: PendingPriceChange | None = None
    discount: RecurringDiscount | None = None
    features: tuple[ContractFeature, ...] = ()


@dataclass(frozen=True, slots=True)
class SubscriptionEvent:
    """A fact about one subscription transition, published as `event_type`."""

    event_type: EventType
    occurred_at: datetime
    subscription: SubscriptionSnapshot
    previous_state: SubscriptionState | None
    cause: Cause
    cause_ref: str = ""
    previous_plan_id: str = ""
    proration: Proration | None = None
    refund_amount_minor: int = 0
    price_change: PendingPriceChange | None = None
    """A renewal charging a new price: the change it applied (old and new amounts)."""
    discount_minor: int = 0
    """A renewal: what the promotion discount took off its price."""
    duplicate_of: SubscriptionSnapshot | None = None
    """A duplicate across channels: the customer's live subscription of the product line on another channel."""

    @property
    def entitled(self) -> bool:
        """Whether the subscriber keeps access after this transition."""
        return self.subscription.state.entitled


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One audit line: a transition of the subscription and its cause."""

    occurred_at: datetime
    event_type: EventType
    from_state: SubscriptionState | None
    to_state: SubscriptionState
    cause: Cause
    cause_ref: str = ""
    actor: str = ""
    """Who made the change, as stored: a principal, or "system" (the domain records none)."""
