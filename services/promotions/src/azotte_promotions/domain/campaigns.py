"""Lifecycle-triggered campaigns: on a subscriber's moment, a personal retention offer within caps.

A campaign reacts to one moment: a lifecycle event (a renewal failed, on hold, cancel scheduled, a downgrade
scheduled, a trial expired), a trial ending within `days_before_trial_end` days, or a usage threshold metering
announced. A subscriber matching its conditions (plan, storefront, channel, tenure; usage for a threshold) gets a
single-use code of its promotion bound to them, or (action `extend_trial`) a longer trial — at most
`max_offers_per_customer` times per campaign, and never within the quiet period after their last offer of any
campaign. One offer per campaign and triggering moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument

DEFAULT_OFFER_VALID_DAYS = 14
MAX_DAYS = 3660
MAX_TRIAL_EXTENSION_DAYS = 365
MAX_USAGE_PERCENT = 1000


class Trigger(StrEnum):
    """The lifecycle event type a campaign reacts to."""

    RENEWAL_FAILED = "subscription.renewal_failed"
    ON_HOLD = "subscription.on_hold"
    CANCEL_SCHEDULED = "subscription.cancel_scheduled"
    DOWNGRADE_SCHEDULED = "subscription.plan_change_scheduled"
    TRIAL_EXPIRED = "trial.expired"
    TRIAL_ENDING = "trial.ending"
    """Not an event: `days_before_trial_end` days before the end of a trial lifecycle reported."""
    USAGE_THRESHOLD = "threshold.crossed"
    """metering's event: a customer's usage reached an alert percent of a limit."""


LIFECYCLE_TRIGGERS = tuple(t for t in Trigger if t not in (Trigger.TRIAL_ENDING, Trigger.USAGE_THRESHOLD))


class CampaignAction(StrEnum):
    """What a campaign does for a subscriber it reaches."""

    ISSUE_OFFER = "issue_offer"
    EXTEND_TRIAL = "extend_trial"


class CampaignState(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class Conditions:
    """Which subscribers a campaign reaches (an empty target matches any)."""

    plan_ids: tuple[str, ...] = ()
    storefront_ids: tuple[str, ...] = ()
    channels: tuple[Channel, ...] = ()
    min_tenure_days: int = 0
    max_tenure_days: int | None = None
    min_usage_percent: int = 0

    @property
    def about_the_subscription(self) -> bool:
        """Whether a condition needs the subscription (which a usage threshold does not name)."""
        return bool(
            self.plan_ids or self.storefront_ids or self.channels or self.min_tenure_days or self.max_tenure_days
        )


@dataclass(frozen=True, slots=True)
class Moment:
    """A subscriber's moment (a lifecycle or metering event, a trial ending), as a campaign judges it.

    A usage threshold names no subscription: its subscription, plan and storefront are empty, its channel None.
    """

    event_id: str
    trigger: Trigger
    customer_id: str
    subscription_id: str
    plan_id: str
    storefront_id: str
    channel: Channel | None
    subscribed_at: datetime
    at: datetime
    trial_end: datetime | None = None
    usage_percent: int = 0


@dataclass(frozen=True, slots=True)
class TrialEnding:
    """A trial lifecycle reported (trial.started, trial.extended) and has not ended yet: campaigns on
    `trial.ending` react to it `days_before_trial_end` days before `trial_end`."""

    tenant_id: str
    subscription_id: str
    customer_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    subscribed_at: datetime
    trial_end: datetime

    def moment(self, at: datetime) -> Moment:
        """The trial ending as a campaign judges it at `at`: one moment per trial, whatever its end."""
        return Moment(
            event_id=f"trial_ending:{self.subscription_id}",
            trigger=Trigger.TRIAL_ENDING,
            customer_id=self.customer_id,
            subscription_id=self.subscription_id,
            plan_id=self.plan_id,
            storefront_id=self.storefront_id,
            channel=self.channel,
            subscribed_at=self.subscribed_at,
            at=at,
            trial_end=self.trial_end,
        )


@dataclass(slots=True)
class Campaign:
    tenant_id: str
    id: str
    display_name: str
    trigger: Trigger
    promotion_id: str
    created_at: datetime
    conditions: Conditions = field(default_factory=Conditions)
    offer_valid_days: int = DEFAULT_OFFER_VALID_DAYS
    max_offers_per_customer: int = 1
    quiet_period_days: int = 0
    state: CampaignState = CampaignState.ACTIVE
    updated_at: datetime | None = None
    offers_issued: int = 0
    action: CampaignAction = CampaignAction.ISSUE_OFFER
    trial_extension_days: int = 0
    days_before_trial_end: int = 0

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field (under `campaign.`) that does not make sense."""
        if not self.display_name.strip():
            raise InvalidArgument.field("campaign.display_name", "is required")
        self._check_action()
        self._check_trigger()
        for name, least in (("offer_valid_days", 1), ("max_offers_per_customer", 1), ("quiet_period_days", 0)):
            if not least <= getattr(self, name) <= MAX_DAYS:
                raise InvalidArgument.field(f"campaign.{name}", f"must be between {least} and {MAX_DAYS}")
        c = self.conditions
        if not 0 <= c.min_tenure_days <= MAX_DAYS:
            raise InvalidArgument.field("campaign.conditions.min_tenure_days", f"must be between 0 and {MAX_DAYS}")
        if c.max_tenure_days is not None and not c.min_tenure_days <= c.max_tenure_days <= MAX_DAYS:
            raise InvalidArgument.field(
                "campaign.conditions.max_tenure_days", f"must be between min_tenure_days and {MAX_DAYS}"
            )

    def _check_action(self) -> None:
        if self.action is CampaignAction.ISSUE_OFFER:
            if not self.promotion_id:
                raise InvalidArgument.field("campaign.promotion_id", "is required: the promotion offered")
            if self.trial_extension_days:
                raise InvalidArgument.field("campaign.trial_extension_days", "applies to the extend_trial action only")
            return
        if self.trigger is not Trigger.TRIAL_ENDING:
            raise InvalidArgument.field("campaign.action", "extend_trial reacts to a trial ending only")
        if self.promotion_id:
            raise InvalidArgument.field("campaign.promotion_id", "a trial extension offers no promotion")
        if not 1 <= self.trial_extension_days <= MAX_TRIAL_EXTENSION_DAYS:
            raise InvalidArgument.field(
                "campaign.trial_extension_days", f"must be between 1 and {MAX_TRIAL_EXTENSION_DAYS}"
            )

    def _check_trigger(self) -> None:
        ending = self.trigger is Trigger.TRIAL_ENDING
        if ending and not 1 <= self.days_before_trial_end <= MAX_DAYS:
            raise InvalidArgument.field("campaign.days_before_trial_end", f"must be between 1 and {MAX_DAYS}")
        if not ending and self.days_before_trial_end:
            raise InvalidArgument.field("campaign.days_before_trial_end", "applies to the trial_ending trigger only")
        c = self.conditions
        if self.trigger is not Trigger.USAGE_THRESHOLD:
            if c.min_usage_percent:
                raise InvalidArgument.field(
                    "campaign.conditions.min_usage_percent", "applies to the usage_threshold trigger only"
                )
            return
        if c.about_the_subscription:
            raise InvalidArgument.field(
                "campaign.conditions", "a usage threshold names no subscription: only min_usage_percent applies"
            )
        if not 0 <= c.min_usage_percent <= MAX_USAGE_PERCENT:
            raise InvalidArgument.field(
                "campaign.conditions.min_usage_percent", f"must be between 0 and {MAX_USAGE_PERCENT}"
            )

    def reaches(self, moment: Moment) -> bool:
        """Whether the moment is this campaign's trigger for a subscriber it targets."""
        c = self.conditions
        tenure_days = (moment.at - moment.subscribed_at).days
        return (
            self.state is CampaignState.ACTIVE
            and moment.trigger is self.trigger
            and (not c.plan_ids or moment.plan_id in c.plan_ids)
            and (not c.storefront_ids or moment.storefront_id in c.storefront_ids)
            and (not c.channels or moment.channel in c.channels)
            and tenure_days >= c.min_tenure_days
            and (c.max_tenure_days is None or tenure_days <= c.max_tenure_days)
            and moment.usage_percent >= c.min_usage_percent
            and self._in_trial_ending_window(moment)
        )

    def _in_trial_ending_window(self, moment: Moment) -> bool:
        """A trial ending: from `days_before_trial_end` days before its end until it ends (other triggers: True)."""
        if self.trigger is not Trigger.TRIAL_ENDING:
            return True
        if moment.trial_end is None:
            return False
        return moment.trial_end - timedelta(days=self.days_before_trial_end) <= moment.at < moment.trial_end

    def quiet_until(self, last_offer_at: datetime | None) -> datetime | None:
        """Until when the customer hears nothing more, after their last offer of any campaign."""
        if last_offer_at is None or self.quiet_period_days == 0:
            return None
        return last_offer_at + timedelta(days=self.quiet_period_days)


@dataclass(frozen=True, slots=True)
class CampaignOffer:
    """A personal retention offer: a single-use code of the campaign's promotion, only the customer's; or a trial
    extension of `trial_extension_days` (no promotion, no code)."""

    tenant_id: str
    id: str
    campaign_id: str
    moment: Moment
    promotion_id: str
    code: str
    expires_at: datetime
    ordinal: int
    """The customer's n-th offer of the campaign (unique: the frequency cap holds under concurrency)."""
    trial_extension_days: int = 0
