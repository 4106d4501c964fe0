"""Lifecycle-triggered campaigns: on a subscriber's event, a personal retention offer within caps.

A campaign reacts to one lifecycle event (a renewal failed, on hold, cancel scheduled, a downgrade scheduled, a
trial expired); a subscriber matching its conditions (plan, storefront, channel, tenure) gets a single-use code of
its promotion bound to them — at most `max_offers_per_customer` times per campaign, and never within the quiet
period after their last offer of any campaign. One offer per campaign and triggering event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument

DEFAULT_OFFER_VALID_DAYS = 14
MAX_DAYS = 3660


class Trigger(StrEnum):
    """The lifecycle event type a campaign reacts to."""

    RENEWAL_FAILED = "subscription.renewal_failed"
    ON_HOLD = "subscription.on_hold"
    CANCEL_SCHEDULED = "subscription.cancel_scheduled"
    DOWNGRADE_SCHEDULED = "subscription.plan_change_scheduled"
    TRIAL_EXPIRED = "trial.expired"


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


@dataclass(frozen=True, slots=True)
class Moment:
    """A subscriber's lifecycle event, as a campaign judges it."""

    event_id: str
    trigger: Trigger
    customer_id: str
    subscription_id: str
    plan_id: str
    storefront_id: str
    channel: Channel
    subscribed_at: datetime
    at: datetime


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

    def check(self) -> None:
        """INVALID_ARGUMENT naming the first field (under `campaign.`) that does not make sense."""
        if not self.display_name.strip():
            raise InvalidArgument.field("campaign.display_name", "is required")
        if not self.promotion_id:
            raise InvalidArgument.field("campaign.promotion_id", "is required: the promotion offered")
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
        )

    def quiet_until(self, last_offer_at: datetime | None) -> datetime | None:
        """Until when the customer hears nothing more, after their last offer of any campaign."""
        if last_offer_at is None or self.quiet_period_days == 0:
            return None
        return last_offer_at + timedelta(days=self.quiet_period_days)


@dataclass(frozen=True, slots=True)
class CampaignOffer:
    """A personal retention offer: a single-use code of the campaign's promotion, only the customer's."""

    tenant_id: str
    id: str
    campaign_id: str
    moment: Moment
    promotion_id: str
    code: str
    expires_at: datetime
    ordinal: int
    """The customer's n-th offer of the campaign (unique: the frequency cap holds under concurrency)."""
