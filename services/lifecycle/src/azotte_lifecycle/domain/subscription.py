"""Subscription aggregate: the normalized state machine shared by every channel."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, NoReturn

from azotte_lifecycle.domain.contracts import ContractFeature
from azotte_lifecycle.domain.discounts import RecurringDiscount
from azotte_lifecycle.domain.dunning import ChargeOutcome, DueWork, RenewalCharge, WorkKind, earliest
from azotte_lifecycle.domain.events import (
    Cause,
    EventType,
    HistoryEntry,
    PendingPlanChange,
    PendingPriceChange,
    PriceChangeOutcome,
    PriceChangeRecord,
    SubscriptionEvent,
    SubscriptionSnapshot,
)
from azotte_lifecycle.domain.periods import BillingInterval, require_utc, shift
from azotte_lifecycle.domain.policy import CancelMode, LifecyclePolicy
from azotte_lifecycle.domain.proration import (
    Proration,
    prorate_change,
    prorate_restart,
    unused_share,
    with_added_tax,
)
from azotte_lifecycle.domain.states import BillingOrigin
from azotte_lifecycle.errors import (
    ChargeRequired,
    CurrencyMismatch,
    IllegalTransition,
    PauseTooLong,
    SamePlan,
    StaleCharge,
    StaleWork,
    StoreBilledSubscription,
)
from azotte_platform.durations import readable_duration
from azotte_platform.enums import Channel, SubscriptionState
from azotte_platform.errors import InvalidArgument

S = SubscriptionState
MAX_TRIAL_EXTENSION_DAYS = 365
MAX_NOTICE_PERIODS = 1000  # NOTE: bounds the search for the first renewal a notice period reaches
LIVE_STATES = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.ON_HOLD, S.PAUSED})
CHARGEABLE_STATES = frozenset({S.TRIALING, S.ACTIVE, S.PAST_DUE, S.ON_HOLD})


def notice_reaches(now: datetime, notice_days: int) -> datetime:
    """The earliest time a notice given now covers: `notice_days` whole days from today (UTC).

    NOTE: notice periods count days, so a check swept moments after its due time still tells the renewal
    it was due for.
    """
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=notice_days)


@dataclass(frozen=True, slots=True)
class PlanTerms:
    """A plan as the subscription bills it: renewal price, interval and rank (higher = better).

    An empty `plan_id` is a contract's subscription without a plan: it grants the contract's own features.
    """

    plan_id: str
    amount_minor: int
    currency_code: str
    interval: BillingInterval
    rank: int = 0

    def __post_init__(self) -> None:
        if self.amount_minor < 0:
            raise InvalidArgument.field("amount_minor", "must not be negative")


class ChangeDirection(StrEnum):
    """How a plan change compares by rank."""

    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    CROSSGRADE = "crossgrade"


class ChangeTiming(StrEnum):
    """When a plan change takes effect."""

    IMMEDIATE = "immediate"
    PERIOD_END = "period_end"


@dataclass(frozen=True, slots=True)
class PlanChangePreview:
    """What a plan change would do: direction, timing and proration (nothing is mutated)."""

    direction: ChangeDirection
    timing: ChangeTiming
    proration: Proration
    new_plan: PlanTerms


@dataclass(eq=False)
class Subscription:
    """A customer's subscription to a plan; commands take `now` and record events and history.

    `created_at` is when it was first stored, set by its repository. `priced_since` is when its current plan
    was bought (creation or plan change): renewals are priced by the catalog for a subscription started then.
    `price_notice_days` is its storefront's notice period for price increases as the catalog last said;
    `price_noticed_until` the latest renewal whose price was checked for a notice; `applied_price_change` the
    new price its next charge applies (kept until that charge succeeds or the subscription ends).
    `price_records` are the price change facts not yet written for the impact report.
    `discount` is the promotion discount its renewals take off while it lasts.
    `features` are the features it grants besides its plan's (a contract's custom features).
    """

    id: str
    tenant_id: str
    customer_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    billing_origin: BillingOrigin
    currency_code: str
    renewal_amount_minor: int
    interval: BillingInterval
    state: SubscriptionState
    period_index: int
    current_period_start: datetime
    current_period_end: datetime
    current_period_amount_minor: int
    period_anchor: datetime
    anchor_period_index: int
    cancel_at_period_end: bool = False
    initial_charge_id: str = ""
    created_at: datetime | None = None
    priced_since: datetime | None = None
    trial_end: datetime | None = None
    first_failure_at: datetime | None = None
    grace_end: datetime | None = None
    hold_end: datetime | None = None
    retry_attempt: int = 0
    next_retry_at: datetime | None = None
    paused_at: datetime | None = None
    resume_at: datetime | None = None
    pending_plan_change: PendingPlanChange | None = None
    price_notice_days: int = 0
    price_noticed_until: datetime | None = None
    pending_price_change: PendingPriceChange | None = None
    applied_price_change: PendingPriceChange | None = None
    discount: RecurringDiscount | None = None
    features: tuple[ContractFeature, ...] = ()
    last_channel_event_at: datetime | None = None
    channel_event_ids: set[str] = field(default_factory=set)
    history: list[HistoryEntry] = field(default_factory=list)
    events: list[SubscriptionEvent] = field(default_factory=list)
    price_records: list[PriceChangeRecord] = field(default_factory=list)

    # ----------------------------------------------------------------- creation

    @classmethod
    def create(
        cls,
        *,
        subscription_id: str,
        tenant_id: str,
        customer_id: str,
        plan: PlanTerms,
        storefront_id: str,
        channel: Channel,
        billing_origin: BillingOrigin,
        now: datetime,
        trial_end: datetime | None = None,
        period_end: datetime | None = None,
        initial_charge_id: str = "",
        discount: RecurringDiscount | None = None,
        start: datetime | None = None,
        features: tuple[ContractFeature, ...] = (),
        cause: Cause = Cause.CHECKOUT,
    ) -> Subscription:
        """Start a subscription, trialing until `trial_end` or active with its first period paid; its first events
        carry `cause`.

        `initial_charge_id` is the checkout charge that paid the first period, if any; `discount` a promotion's
        discount its renewals take off. `start` (not after `now`) is when its first period began, when earlier than
        now (a back-dated or late-started contract); `features` are granted besides the plan's.
        """
        require_utc(now, "now")
        start = now if start is None else require_utc(start, "start")
        if start > now:
            raise InvalidArgument.field("start", "must not be in the future")
        if start != now and (trial_end is not None or period_end is not None):
            raise InvalidArgument.field("start", "a trial or a set first period starts now")
        if trial_end is not None and require_utc(trial_end, "trial_end") <= now:
            raise InvalidArgument.field("trial_end", "must be in the future")
        if period_end is not None and require_utc(period_end, "period_end") <= now:
            raise InvalidArgument.field("period_end", "must be in the future")
        trialing = trial_end is not None
        if initial_charge_id and (trialing or billing_origin is BillingOrigin.STORE_BILLED):
            raise InvalidArgument.field(
                "initial_charge_id", "only an Azotte-billed subscription without a trial starts with a charge"
            )
        if discount is not None and billing_origin is BillingOrigin.STORE_BILLED:
            raise InvalidArgument.field("discount", "applies to Azotte-billed renewals only; the store prices its own")
        if discount is not None and discount.amount_off_minor and discount.currency_code != plan.currency_code:
            raise InvalidArgument.field("discount.amount_off", f"must be in the plan's currency {plan.currency_code}")
        # NOTE: a trial is period 0 (nothing paid); paid periods are numbered from 1, anchored at
        # the trial end or at creation so later periods keep the same day of month.
        first_end = trial_end or period_end or shift(start, plan.interval, 1)
        anchor, anchor_index = (first_end, 1) if trialing else (start, 1)
        if period_end is not None and not trialing:
            anchor, anchor_index = period_end, 2
        subscription = cls(
            id=subscription_id,
            tenant_id=tenant_id,
            customer_id=customer_id,
            plan_id=plan.plan_id,
            storefront_id=storefront_id,
            channel=channel,
            billing_origin=billing_origin,
            currency_code=plan.currency_code,
            renewal_amount_minor=plan.amount_minor,
            interval=plan.interval,
            state=S.TRIALING if trialing else S.ACTIVE,
            period_index=0 if trialing else 1,
            current_period_start=start,
            current_period_end=first_end,
            current_period_amount_minor=0 if trialing else plan.amount_minor,
            period_anchor=anchor,
            anchor_period_index=anchor_index,
            trial_end=trial_end,
            initial_charge_id=initial_charge_id,
            priced_since=now,
            discount=discount,
            features=features,
        )
        subscription._record(EventType.SUBSCRIPTION_CREATED, None, cause, now)
        started = EventType.TRIAL_STARTED if trialing else EventType.SUBSCRIPTION_ACTIVATED
        subscription._record(started, subscription.state, cause, now)
        return subscription

    # ----------------------------------------------------------------- queries

    def snapshot(self) -> SubscriptionSnapshot:
        """The subscription's current state as carried by events."""
        return SubscriptionSnapshot(
            subscription_id=self.id,
            tenant_id=self.tenant_id,
            customer_id=self.customer_id,
            plan_id=self.plan_id,
            storefront_id=self.storefront_id,
            channel=self.channel,
            billing_origin=self.billing_origin,
            state=self.state,
            cancel_at_period_end=self.cancel_at_period_end,
            period_index=self.period_index,
            current_period_start=self.current_period_start,
            current_period_end=self.current_period_end,
            trial_end=self.trial_end,
            grace_end=self.grace_end,
            hold_end=self.hold_end,
            resume_at=self.resume_at,
            currency_code=self.currency_code,
            renewal_amount_minor=self.renewal_amount_minor,
            retry_attempt=self.retry_attempt,
            pending_plan_change=self.pending_plan_change,
            pending_price_change=self.pending_price_change,
            discount=self.discount,
            features=self.features,
        )

    @property
    def entitled(self) -> bool:
        """Whether the subscriber has access now."""
        return self.state.entitled

    def pull_events(self) -> list[SubscriptionEvent]:
        """Return and forget the events recorded since the last pull (for the outbox)."""
        pulled, self.events = self.events, []
        return pulled

    def next_due_work(self) -> DueWork | None:
        """The next scheduled work item, or None (expired, or billed by a store)."""
        if self.billing_origin is BillingOrigin.STORE_BILLED:
            return None
        candidates: list[DueWork] = []

        def add(kind: WorkKind, due_at: datetime | None) -> None:
            if due_at is not None:
                candidates.append(DueWork(self.id, kind, due_at))

        if self.state in (S.TRIALING, S.ACTIVE) and not self.cancel_at_period_end and not self.pending_plan_change:
            add(WorkKind.PRICE_NOTICE, self._next_notice_check())
        match self.state:
            case S.TRIALING | S.ACTIVE if self.cancel_at_period_end:
                add(WorkKind.CANCELLATION, self.current_period_end)
            case S.TRIALING:
                add(WorkKind.TRIAL_END, self.current_period_end)
            case S.ACTIVE if self.pending_plan_change is not None:
                add(WorkKind.SCHEDULED_PLAN_CHANGE, self.pending_plan_change.effective_at)
            case S.ACTIVE:
                add(WorkKind.RENEWAL, self.current_period_end)
            case S.PAST_DUE:
                add(WorkKind.RETRY, self.next_retry_at)
                add(WorkKind.GRACE_END, self.grace_end)
            case S.ON_HOLD:
                add(WorkKind.RETRY, self.next_retry_at)
                add(WorkKind.HOLD_END, self.hold_end)
            case S.PAUSED:
                add(WorkKind.PAUSE_END, self.resume_at)
        return earliest(candidates)

    def renewal_charge(self) -> RenewalCharge:
        """The charge that would pay for the next period now (renewal, trial end or retry)."""
        self._require_azotte_billed("charge")
        self._require_state(CHARGEABLE_STATES, "charge")
        if self.state in (S.TRIALING, S.ACTIVE):
            # NOTE: in good standing only the scheduled renewal/trial end charges (not a cancellation
            # or a pending plan change); in dunning a retry may run early, e.g. after a card update.
            work = self.next_due_work()
            if work is None or not work.kind.charges:
                self._illegal("charge", f"next work is {work.kind if work else 'none'}, not a charge")
        discount_minor = self.renewal_discount_minor(self.renewal_amount_minor)
        return RenewalCharge(
            subscription_id=self.id,
            period_index=self.period_index + 1,
            attempt=self.retry_attempt,
            amount_minor=self.renewal_amount_minor - discount_minor,
            currency_code=self.currency_code,
            discount_minor=discount_minor,
        )

    def end_discount(self) -> None:
        """The promotion's budget cannot pay for the discount: this renewal and the later ones are at full price."""
        self.discount = None

    def renewal_discount_minor(self, amount_minor: int) -> int:
        """What the promotion discount takes off the next renewal priced `amount_minor` (0 without one)."""
        return 0 if self.discount is None else self.discount.off(amount_minor)

    @property
    def price_start(self) -> datetime:
        """When the current plan's price was bought: a grandfathered price change after it does not reach it."""
        return self.priced_since or self.created_at or self.current_period_start

    @property
    def renewal_time(self) -> datetime:
        """When the period the next charge pays for starts (renewal, trial end or retry): it is priced then."""
        return self.current_period_end

    def price_renewal(
        self, amount_minor: int, notice_days: int, now: datetime, *, price_effective_at: datetime | None = None
    ) -> None:
        """Bill the next charge at `amount_minor`, the catalog's price of the plan at `renewal_time` (a version in
        effect since `price_effective_at`).

        Where the storefront asks for `notice_days` of notice, an increase is charged only as far as the
        subscriber was told of it for this renewal (`pending_price_change`); otherwise the current price stays.
        An increase the subscriber was asked to accept and did not ends the subscription instead
        (`subscription.price_change_declined`, then `subscription.expired`): nothing is charged.
        """
        self._require_azotte_billed("price the renewal of")
        self.price_notice_days = notice_days
        charged = self.renewal_amount_for(amount_minor, notice_days)
        change = self.pending_price_change if self._noticed_for_renewal() else None
        if charged is None:
            assert change is not None
            if change.declined_at is None:
                self._note_price(replace(change, declined_at=now), PriceChangeOutcome.DECLINED, now)
                self._record(EventType.SUBSCRIPTION_PRICE_CHANGE_DECLINED, self.state, Cause.PRICE_CHANGE_DECLINED, now)
            self._expire(now, Cause.PRICE_CHANGE_DECLINED)
            return
        if change is not None:
            self.pending_price_change = None
        if charged != self.renewal_amount_minor:
            told = change is not None and change.old_amount_minor == self.renewal_amount_minor
            self.applied_price_change = (
                replace(change, amount_minor=charged)
                if change is not None and told
                else PendingPriceChange(
                    self.renewal_amount_minor, charged, self.renewal_time, None, price_effective_at=price_effective_at
                )
            )
        self.renewal_amount_minor = charged

    def renewal_amount_for(self, amount_minor: int, notice_days: int) -> int | None:
        """What the next charge costs when the catalog prices it at `amount_minor` with `notice_days` of notice
        for increases (None: nothing, the subscription ends there because it did not accept the increase).

        NOTE: the one rule renewals, the upcoming charge and every price shown follow: an increase is charged
        only as far as the subscriber was told of it for this renewal; a decrease applies at once.
        """
        if amount_minor < 0:
            raise InvalidArgument.field("amount_minor", "must not be negative")
        change = self.pending_price_change if self._noticed_for_renewal() else None
        if change is not None and change.unaccepted and amount_minor > self.renewal_amount_minor:
            return None
        if amount_minor > self.renewal_amount_minor and notice_days > 0:
            ceiling = change.amount_minor if change is not None else self.renewal_amount_minor
            return min(amount_minor, max(ceiling, self.renewal_amount_minor))
        return amount_minor

    def _noticed_for_renewal(self) -> bool:
        change = self.pending_price_change
        return change is not None and change.effective_at <= self.renewal_time

    def notice_target(self, now: datetime) -> datetime:
        """The first renewal a price notice given now reaches: at least `price_notice_days` away."""
        return self.first_renewal_from(notice_reaches(now, self.price_notice_days))

    def consent_to_price_change(self, now: datetime) -> None:
        """The subscriber accepts the announced increase: its renewal charges the new price."""
        self._require_azotte_billed("consent to a price change of")
        self._require_state(LIVE_STATES, "consent to a price change of")
        change = self.pending_price_change
        if change is None or not change.consent_required:
            self._illegal("consent to a price change of", "no price increase awaits consent")
        if change.consented_at is not None:
            return
        self.pending_price_change = replace(change, consented_at=now, declined_at=None)
        self._note_price(self.pending_price_change, PriceChangeOutcome.CONSENTED, now)
        self._record(EventType.SUBSCRIPTION_PRICE_CHANGE_CONSENTED, self.state, Cause.CUSTOMER_REQUEST, now)

    def decline_price_change(self, now: datetime) -> None:
        """The subscriber refuses the announced increase: the subscription ends, uncharged, at the renewal that
        would have charged it (`subscription.price_change_declined` now; consenting later still keeps it)."""
        self._require_azotte_billed("decline a price change of")
        self._require_state(LIVE_STATES, "decline a price change of")
        change = self.pending_price_change
        if change is None or not change.consent_required:
            self._illegal("decline a price change of", "no price increase awaits consent")
        if change.declined_at is not None:
            return
        self.pending_price_change = replace(change, consented_at=None, declined_at=now)
        self._note_price(self.pending_price_change, PriceChangeOutcome.DECLINED, now)
        self._record(EventType.SUBSCRIPTION_PRICE_CHANGE_DECLINED, self.state, Cause.CUSTOMER_REQUEST, now)

    def check_price_notice(
        self,
        target: datetime,
        amount_minor: int | None,
        notice_days: int,
        now: datetime,
        *,
        consent_required: bool = False,
        price_effective_at: datetime | None = None,
    ) -> None:
        """The due notice check of the renewal at `target` (`notice_target(now)`): tell the subscriber of a
        higher price (`subscription.price_change_scheduled`, the snapshot carrying old and new amounts).

        `amount_minor` is the catalog's price at that renewal (None: it has none), `notice_days` the
        storefront's notice period now, `consent_required` whether the subscriber must accept the rise,
        `price_effective_at` when that price version takes effect; a renewal is checked once.
        """
        work = self.next_due_work()
        if work is None or work.kind is not WorkKind.PRICE_NOTICE or not work.is_due(now):
            raise StaleWork(f"no price notice check is due (state {self.state})")
        self.price_notice_days = notice_days
        if notice_days <= 0 or target < notice_reaches(now, notice_days):
            return  # NOTE: the notice period changed since `target` was chosen: checked again, for a later one
        self.price_noticed_until = target
        if amount_minor is None or amount_minor <= self.renewal_amount_minor:
            return
        change = self.pending_price_change
        if change is not None and change.amount_minor == amount_minor:
            return  # already told
        self.pending_price_change = PendingPriceChange(
            self.renewal_amount_minor,
            amount_minor,
            target,
            now,
            consent_required=consent_required,
            price_effective_at=price_effective_at,
        )
        self._note_price(self.pending_price_change, PriceChangeOutcome.NOTIFIED, now)
        self._record(EventType.SUBSCRIPTION_PRICE_CHANGE_SCHEDULED, self.state, Cause.PRICE_CHANGE, now)

    def first_renewal_from(self, moment: datetime) -> datetime:
        """The first renewal (start of a coming paid period) at or after `moment`."""
        index = self.period_index + 1
        start = self.period_bounds(index)[0]
        while start < moment and index < self.period_index + MAX_NOTICE_PERIODS:
            index += 1
            start = self.period_bounds(index)[0]
        return start

    def _next_notice_check(self) -> datetime | None:
        """When the next renewal not yet checked for a price notice must be checked (None: no notice)."""
        if self.price_notice_days <= 0:
            return None
        after = self.price_noticed_until
        target = self.renewal_time if after is None or after < self.renewal_time else self._renewal_after(after)
        return target - timedelta(days=self.price_notice_days)

    def _renewal_after(self, moment: datetime) -> datetime:
        index = self.period_index + 1
        while self.period_bounds(index)[0] <= moment and index < self.period_index + MAX_NOTICE_PERIODS:
            index += 1
        return self.period_bounds(index)[0]

    @property
    def first_period_charge_id(self) -> str | None:
        """The checkout charge while the first paid period, which it paid for, runs."""
        return self.initial_charge_id if self.initial_charge_id and self.period_index == 1 else None

    def period_bounds(self, index: int) -> tuple[datetime, datetime]:
        """Start and end of paid period `index` on the current anchor."""
        offset = index - self.anchor_period_index
        return shift(self.period_anchor, self.interval, offset), shift(self.period_anchor, self.interval, offset + 1)

    # ----------------------------------------------------------------- customer commands

    def cancel(
        self,
        now: datetime,
        policy: LifecyclePolicy,
        *,
        mode: CancelMode | None = None,
        refund: bool = False,
        added_tax_rate: Decimal = Decimal(0),
    ) -> int:
        """Cancel at period end or immediately; returns the prorated refund (minor units) if asked.

        The refund is the unused share of the period's price plus the tax the storefront adds on top of
        prices (`added_tax_rate`, 0 when its prices include tax): what the customer paid for that time.
        """
        self._require_azotte_billed("cancel")
        self._require_state(LIVE_STATES, "cancel")
        mode = mode or policy.cancel_mode
        if mode is CancelMode.AT_PERIOD_END and self.state in (S.TRIALING, S.ACTIVE):
            if refund:
                raise InvalidArgument.field("refund", "only an immediate cancel pays the unused time back")
            if self.cancel_at_period_end:
                self._illegal("cancel", "cancellation is already scheduled")
            self.cancel_at_period_end = True
            self._record(EventType.SUBSCRIPTION_CANCEL_SCHEDULED, self.state, Cause.CUSTOMER_REQUEST, now)
            return 0
        # NOTE: past_due, on_hold and paused have no paid period running, so any cancel ends them now;
        # only an active paid period is refunded, for its unused seconds.
        refund_minor = 0
        if refund and self.state is S.ACTIVE:
            unused = unused_share(
                self.current_period_amount_minor, self.current_period_start, self.current_period_end, now
            )
            refund_minor = with_added_tax(unused, added_tax_rate)
        self._expire(now, Cause.CUSTOMER_REQUEST, refund_amount_minor=refund_minor)
        return refund_minor

    def extend_trial(self, days: int, now: datetime) -> None:
        """Move the trial end `days` later (a campaign's offer): the first paid period starts then."""
        self._require_azotte_billed("extend the trial of")
        self._require_state({S.TRIALING}, "extend the trial of")
        if not 1 <= days <= MAX_TRIAL_EXTENSION_DAYS:
            raise InvalidArgument.field("days", f"must be between 1 and {MAX_TRIAL_EXTENSION_DAYS}")
        self.trial_end = self.current_period_end = self.period_anchor = self.current_period_end + timedelta(days=days)
        self._record(EventType.TRIAL_EXTENDED, self.state, Cause.CAMPAIGN, now)

    def reactivate(self, now: datetime) -> None:
        """Undo a scheduled cancellation."""
        self._require_azotte_billed("reactivate")
        self._require_state({S.TRIALING, S.ACTIVE}, "reactivate")
        if not self.cancel_at_period_end:
            self._illegal("reactivate", "no cancellation is scheduled")
        self.cancel_at_period_end = False
        self._record(EventType.SUBSCRIPTION_REACTIVATED, self.state, Cause.CUSTOMER_REQUEST, now)

    def pause(
        self,
        now: datetime,
        policy: LifecyclePolicy,
        *,
        until: datetime | None = None,
        periods: int | None = None,
    ) -> None:
        """Pause access and billing until a date or for N periods, within the policy's maximum."""
        self._require_azotte_billed("pause")
        self._require_state({S.ACTIVE}, "pause")
        if self.cancel_at_period_end:
            self._illegal("pause", "cancellation is scheduled")
        if (until is None) == (periods is None):
            raise InvalidArgument.field("resume", "give exactly one of a resume time or a number of periods")
        if periods is not None and periods < 1:
            raise InvalidArgument.field("periods", "must be at least 1")
        resume_at = until if until is not None else shift(now, self.interval, periods or 1)
        if require_utc(resume_at, "resume_at") <= now:
            raise InvalidArgument.field("resume_at", "must be in the future")
        if resume_at - now > policy.max_pause:
            raise PauseTooLong.field(
                "resume_at", f"pause longer than the maximum of {readable_duration(policy.max_pause)}"
            )
        previous = self.state
        self.state, self.paused_at, self.resume_at = S.PAUSED, now, resume_at
        self._record(EventType.SUBSCRIPTION_PAUSED, previous, Cause.CUSTOMER_REQUEST, now)

    def resume(self, now: datetime) -> None:
        """Resume a paused subscription now."""
        self._require_azotte_billed("resume")
        self._resume(now, Cause.CUSTOMER_REQUEST)

    def preview_plan_change(
        self, new_plan: PlanTerms, now: datetime, *, current_rank: int, timing: ChangeTiming | None = None
    ) -> PlanChangePreview:
        """What changing to `new_plan` would do; upgrades default to now, downgrades to period end."""
        self._require_azotte_billed("change the plan of")
        self._require_state({S.TRIALING, S.ACTIVE}, "change the plan of")
        if new_plan.currency_code != self.currency_code:
            raise CurrencyMismatch.field("plan", "currency differs from the subscription's")
        if new_plan.plan_id == self.plan_id and self.pending_plan_change is None:
            raise SamePlan.field("plan_id", "subscription is already on this plan")
        if new_plan.rank > current_rank:
            direction = ChangeDirection.UPGRADE
        elif new_plan.rank < current_rank:
            direction = ChangeDirection.DOWNGRADE
        else:
            direction = ChangeDirection.CROSSGRADE
        default = ChangeTiming.PERIOD_END if direction is ChangeDirection.DOWNGRADE else ChangeTiming.IMMEDIATE
        timing = timing or default
        if self.state is S.TRIALING or new_plan.plan_id == self.plan_id:
            # NOTE: nothing is paid during a trial, and returning to the current plan only drops a
            # pending change, so both apply now without proration.
            return PlanChangePreview(direction, ChangeTiming.IMMEDIATE, Proration(0, 0, now), new_plan)
        if timing is ChangeTiming.PERIOD_END:
            return PlanChangePreview(direction, timing, Proration(0, 0, self.current_period_end), new_plan)
        prorate = prorate_change if new_plan.interval == self.interval else prorate_restart
        proration = prorate(
            self.current_period_amount_minor,
            new_plan.amount_minor,
            self.current_period_start,
            self.current_period_end,
            now,
        )
        return PlanChangePreview(direction, timing, proration, new_plan)

    def change_plan(
        self, new_plan: PlanTerms, now: datetime, *, current_rank: int, timing: ChangeTiming | None = None
    ) -> PlanChangePreview:
        """Change plan now (prorated) or schedule it for the period end; returns what was applied."""
        preview = self.preview_plan_change(new_plan, now, current_rank=current_rank, timing=timing)
        if preview.timing is ChangeTiming.PERIOD_END:
            self.pending_plan_change = PendingPlanChange(
                new_plan.plan_id, new_plan.amount_minor, new_plan.interval, self.current_period_end
            )
            self._record(EventType.SUBSCRIPTION_PLAN_CHANGE_SCHEDULED, self.state, Cause.CUSTOMER_REQUEST, now)
            return preview
        previous_plan_id = self.plan_id
        self.pending_plan_change = None
        if new_plan.plan_id == self.plan_id:
            # Back to the current plan: the scheduled change is dropped (snapshot shows none pending).
            self._record(EventType.SUBSCRIPTION_PLAN_CHANGE_SCHEDULED, self.state, Cause.CUSTOMER_REQUEST, now)
            return preview
        self.plan_id, self.renewal_amount_minor = new_plan.plan_id, new_plan.amount_minor
        self.priced_since = now
        self.pending_price_change = self.price_noticed_until = None
        if self.state is S.ACTIVE:
            # NOTE: the remaining time is now paid at the new plan's rate, so later refunds use it.
            self.current_period_amount_minor = new_plan.amount_minor
            if new_plan.interval != self.interval:
                # NOTE: an interval change restarts the period now; the full new period is charged.
                self.current_period_start = now
                self.current_period_end = shift(now, new_plan.interval, 1)
                self.period_anchor, self.anchor_period_index = now, self.period_index
        self.interval = new_plan.interval
        self._record(
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            self.state,
            Cause.CUSTOMER_REQUEST,
            now,
            previous_plan_id=previous_plan_id,
            proration=preview.proration,
        )
        return preview

    # ----------------------------------------------------------------- scheduler

    def apply_charge_result(
        self, charge: RenewalCharge, outcome: ChargeOutcome, now: datetime, policy: LifecyclePolicy
    ) -> None:
        """Apply the payments answer to `charge`: advance the period or follow the dunning policy."""
        if charge != self.renewal_charge():
            raise StaleCharge(f"charge {charge.idempotency_key} is not the one due (state {self.state})")
        previous = self.state
        if outcome is ChargeOutcome.SUCCEEDED:
            self._advance_period(now, charge.amount_minor)
            if self.discount is not None:
                self.discount = self.discount.after_renewal()
            event = {
                S.TRIALING: EventType.TRIAL_CONVERTED,
                S.ACTIVE: EventType.SUBSCRIPTION_RENEWED,
            }.get(previous, EventType.SUBSCRIPTION_RECOVERED)
            applied, self.applied_price_change = self.applied_price_change, None
            if applied is not None:
                self._note_price(applied, PriceChangeOutcome.RENEWED, now)
            self._record(
                event, previous, Cause.CHARGE_SUCCEEDED, now, price_change=applied, discount_minor=charge.discount_minor
            )
            return
        cause = {
            ChargeOutcome.SOFT_DECLINE: Cause.SOFT_DECLINE,
            ChargeOutcome.AUTHENTICATION_REQUIRED: Cause.AUTHENTICATION_REQUIRED,
        }.get(outcome, Cause.HARD_DECLINE)
        first_failure = previous in (S.TRIALING, S.ACTIVE)
        if first_failure:
            self.first_failure_at, self.grace_end = now, now + policy.grace_period
        self.retry_attempt += 1
        self.next_retry_at = None
        if outcome is ChargeOutcome.HARD_DECLINE:
            # NOTE: a hard decline never succeeds on retry: hold (waiting for a new payment method)
            # when the policy has one, otherwise expire at once.
            if previous is S.ON_HOLD:
                self._record(EventType.SUBSCRIPTION_RENEWAL_FAILED, previous, cause, now)
            else:
                self._enter_hold_or_expire(now, now, policy, cause)
            return
        assert self.first_failure_at is not None
        self.next_retry_at = policy.retry_due_at(self.first_failure_at, self.retry_attempt)
        if not first_failure and self.next_retry_at is None:
            self._expire(now, Cause.RETRIES_EXHAUSTED)
        elif first_failure and policy.grace_period <= timedelta(0):
            self._enter_hold_or_expire(now, now, policy, cause)
        else:
            self.state = previous if previous is S.ON_HOLD else S.PAST_DUE
            self._record(EventType.SUBSCRIPTION_RENEWAL_FAILED, previous, cause, now)

    def apply_due_work(self, work: DueWork, now: datetime, policy: LifecyclePolicy) -> None:
        """Run a non-charging due work item (cancellation, plan change, pause/grace/hold end)."""
        if work != self.next_due_work() or not work.is_due(now):
            raise StaleWork(f"{work.kind} is not due (state {self.state})")
        match work.kind:
            case WorkKind.CANCELLATION:
                self._expire(now, Cause.PERIOD_ENDED_AFTER_CANCEL)
            case WorkKind.SCHEDULED_PLAN_CHANGE:
                self._apply_pending_plan_change(now)
            case WorkKind.PAUSE_END:
                self._resume(now, Cause.PAUSE_ENDED)
            case WorkKind.GRACE_END:
                assert self.grace_end is not None
                self._enter_hold_or_expire(now, self.grace_end, policy, Cause.GRACE_ENDED)
            case WorkKind.HOLD_END:
                self._expire(now, Cause.HOLD_ENDED)
            case _:
                raise ChargeRequired(f"{work.kind} charges: apply its charge result instead")

    def end_trial_without_payment_method(self, now: datetime) -> None:
        """Expire a trial whose end came without a payment method (policy says expire)."""
        work = self.next_due_work()
        if work is None or work.kind is not WorkKind.TRIAL_END or not work.is_due(now):
            raise StaleWork(f"trial end is not due (state {self.state})")
        self._expire(now, Cause.TRIAL_ENDED_WITHOUT_PAYMENT_METHOD)

    # ----------------------------------------------------------------- invoiced (contract) subscriptions

    @property
    def invoiced(self) -> bool:
        """Whether its periods are invoiced under a contract (channel direct) instead of charged."""
        return self.channel is Channel.DIRECT

    def invoice_period(self, charge: RenewalCharge, now: datetime, *, last: bool) -> None:
        """The period ending now was invoiced (`charge` is its renewal): the next period starts, or the
        subscription ends with it when it was the contract's `last`."""
        if not self.invoiced or charge != self.renewal_charge():
            raise StaleCharge(f"invoice {charge.idempotency_key} is not the one due (state {self.state})")
        if last:
            self._expire(now, Cause.CONTRACT_ENDED)
            return
        self._advance_period(now, charge.amount_minor)
        self._record(EventType.SUBSCRIPTION_RENEWED, S.ACTIVE, Cause.INVOICE_ISSUED, now)

    def apply_contract_terms(
        self, plan_id: str, recurring_minor: int, features: tuple[ContractFeature, ...], now: datetime
    ) -> None:
        """A contract amendment: its recurring price from the next invoice on, its plan and features (and access)
        now (`subscription.plan_changed`, else `subscription.features_changed` when only the features changed)."""
        if not self.invoiced:
            self._illegal("amend the contract of", "not a contract's subscription")
        self._require_state(LIVE_STATES, "amend the contract of")
        self.renewal_amount_minor = recurring_minor
        features_changed, self.features = features != self.features, features
        if plan_id == self.plan_id and features_changed:
            self._record(EventType.SUBSCRIPTION_FEATURES_CHANGED, self.state, Cause.CUSTOMER_REQUEST, now)
        if plan_id != self.plan_id:
            previous_plan_id, self.plan_id, self.priced_since = self.plan_id, plan_id, now
            self._record(
                EventType.SUBSCRIPTION_PLAN_CHANGED,
                self.state,
                Cause.CUSTOMER_REQUEST,
                now,
                previous_plan_id=previous_plan_id,
            )

    def invoice_overdue(self, now: datetime, policy: LifecyclePolicy) -> None:
        """An invoice passed its due date unpaid: the policy's dunning of a failed renewal (past due during
        grace, then on hold without access, then expired), without retries; already in dunning changes nothing."""
        if not self.invoiced or self.state is not S.ACTIVE:
            return
        self.first_failure_at, self.grace_end, self.next_retry_at = now, now + policy.grace_period, None
        if policy.grace_period <= timedelta(0):
            self._enter_hold_or_expire(now, now, policy, Cause.INVOICE_OVERDUE)
            return
        self.state = S.PAST_DUE
        self._record(EventType.SUBSCRIPTION_RENEWAL_FAILED, S.ACTIVE, Cause.INVOICE_OVERDUE, now)

    def invoices_settled(self, now: datetime, cause: Cause) -> None:
        """No invoice is overdue any more (the last one was paid, or voided): active again with access, the
        current period kept."""
        if not self.invoiced or self.state not in (S.PAST_DUE, S.ON_HOLD):
            return
        previous = self.state
        self.state = S.ACTIVE
        self.clear_dunning()
        self._record(EventType.SUBSCRIPTION_RECOVERED, previous, cause, now)

    # ----------------------------------------------------------------- transitions shared with channels

    def record_transition(
        self,
        event_type: EventType,
        previous: SubscriptionState | None,
        cause: Cause,
        now: datetime,
        **extra: Any,
    ) -> None:
        """Append the history entry and the event for a transition that just happened."""
        self._record(event_type, previous, cause, now, **extra)

    def flag_duplicate_across_channels(self, other: Subscription, now: datetime, cause_ref: str) -> None:
        """Record that the customer also holds `other`, live on another channel, for this product line."""
        self._record(
            EventType.SUBSCRIPTION_DUPLICATE_ACROSS_CHANNELS,
            self.state,
            Cause.CHANNEL_EVENT,
            now,
            cause_ref=cause_ref,
            duplicate_of=other.snapshot(),
        )

    def expire(self, now: datetime, cause: Cause, *, cause_ref: str = "") -> None:
        """End the subscription now (store-reported expiry, refund or revocation)."""
        self._require_state(LIVE_STATES, "expire")
        self._expire(now, cause, cause_ref=cause_ref)

    def clear_dunning(self) -> None:
        """Forget failure, grace, hold and retry bookkeeping."""
        self.first_failure_at = self.grace_end = self.hold_end = self.next_retry_at = None
        self.retry_attempt = 0

    # ----------------------------------------------------------------- internals

    def _advance_period(self, now: datetime, paid_minor: int) -> None:
        if self.state is S.ON_HOLD:
            # NOTE: access was suspended during hold, so a recovery starts a fresh period now.
            self.period_anchor, self.anchor_period_index = now, self.period_index + 1
        self.period_index += 1
        self.current_period_start, self.current_period_end = self.period_bounds(self.period_index)
        self.current_period_amount_minor = paid_minor
        self.state = S.ACTIVE
        self.clear_dunning()

    def _enter_hold_or_expire(self, now: datetime, hold_from: datetime, policy: LifecyclePolicy, cause: Cause) -> None:
        if policy.hold_period <= timedelta(0):
            self._expire(now, cause)
            return
        previous = self.state
        self.state, self.hold_end = S.ON_HOLD, hold_from + policy.hold_period
        self._record(EventType.SUBSCRIPTION_ON_HOLD, previous, cause, now)

    def _apply_pending_plan_change(self, now: datetime) -> None:
        change = self.pending_plan_change
        assert change is not None
        previous_plan_id = self.plan_id
        if change.interval != self.interval:
            self.period_anchor, self.anchor_period_index = self.current_period_end, self.period_index + 1
        self.plan_id, self.renewal_amount_minor, self.interval = (
            change.plan_id,
            change.amount_minor,
            change.interval,
        )
        self.pending_plan_change = None
        self.priced_since = now
        self.pending_price_change = self.price_noticed_until = None
        self._record(
            EventType.SUBSCRIPTION_PLAN_CHANGED,
            self.state,
            Cause.SCHEDULED_PLAN_CHANGE,
            now,
            previous_plan_id=previous_plan_id,
        )

    def _resume(self, now: datetime, cause: Cause) -> None:
        self._require_state({S.PAUSED}, "resume")
        assert self.paused_at is not None
        # NOTE: the paid time left when pausing is kept: the period is shifted by the pause length.
        pause_length = max(now - self.paused_at, timedelta(0))
        self.current_period_start += pause_length
        self.current_period_end += pause_length
        self.period_anchor, self.anchor_period_index = self.current_period_end, self.period_index + 1
        if self.pending_plan_change is not None:
            self.pending_plan_change = PendingPlanChange(
                self.pending_plan_change.plan_id,
                self.pending_plan_change.amount_minor,
                self.pending_plan_change.interval,
                self.current_period_end,
            )
        self.state, self.paused_at, self.resume_at = S.ACTIVE, None, None
        self._record(EventType.SUBSCRIPTION_RESUMED, S.PAUSED, cause, now)

    def _expire(self, now: datetime, cause: Cause, **extra: Any) -> None:
        previous = self.state
        change = self.applied_price_change or self.pending_price_change
        if change is not None and change.declined_at is None and cause is not Cause.PRICE_CHANGE_DECLINED:
            self._note_price(change, PriceChangeOutcome.CHURNED, now)
        self.state, self.cancel_at_period_end = S.EXPIRED, False
        self.paused_at = self.resume_at = self.pending_plan_change = None
        self.pending_price_change = self.applied_price_change = None
        self.next_retry_at = None
        event = EventType.TRIAL_EXPIRED if previous is S.TRIALING else EventType.SUBSCRIPTION_EXPIRED
        self._record(event, previous, cause, now, **extra)

    def _note_price(self, change: PendingPriceChange, outcome: PriceChangeOutcome, now: datetime) -> None:
        self.price_records.append(PriceChangeRecord(change, outcome, now))

    def _record(
        self,
        event_type: EventType,
        previous: SubscriptionState | None,
        cause: Cause,
        now: datetime,
        **extra: Any,
    ) -> None:
        cause_ref = str(extra.pop("cause_ref", ""))
        self.history.append(HistoryEntry(now, event_type, previous, self.state, cause, cause_ref))
        self.events.append(SubscriptionEvent(event_type, now, self.snapshot(), previous, cause, cause_ref, **extra))

    def _require_state(self, allowed: Collection[SubscriptionState], command: str) -> None:
        if self.state not in allowed:
            self._illegal(command, "not allowed")

    def _require_azotte_billed(self, command: str) -> None:
        if self.billing_origin is BillingOrigin.STORE_BILLED:
            raise StoreBilledSubscription(
                f"cannot {command} a store-billed subscription; its {self.channel} store manages it",
                metadata={"state": str(self.state)},
            )

    def _illegal(self, command: str, detail: str) -> NoReturn:
        raise IllegalTransition(
            f"cannot {command} a subscription in state {self.state}: {detail}", metadata={"state": str(self.state)}
        )
