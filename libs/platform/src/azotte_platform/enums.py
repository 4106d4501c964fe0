"""The vocabulary every service shares, one member per value of its `azotte.common.v1` proto enum."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """A sales channel a subscriber can come from (`azotte.common.v1.Channel`)."""

    WEB = "web"
    APP_STORE = "app_store"
    GOOGLE_PLAY = "google_play"
    TELECOM = "telecom"
    PARTNER = "partner"
    DIRECT = "direct"


class SubscriptionState(StrEnum):
    """The normalized state of a subscription, whatever its channel (`azotte.common.v1.SubscriptionState`)."""

    TRIALING = "trialing"
    ACTIVE = "active"
    PAST_DUE = "past_due"
    ON_HOLD = "on_hold"
    PAUSED = "paused"
    EXPIRED = "expired"

    @property
    def entitled(self) -> bool:
        """Whether the subscriber keeps access in this state."""
        # NOTE: past_due is in grace, so access is kept; on_hold and paused suspend access.
        return self in (SubscriptionState.TRIALING, SubscriptionState.ACTIVE, SubscriptionState.PAST_DUE)

    @property
    def terminal(self) -> bool:
        """Whether no transition can leave this state."""
        return self is SubscriptionState.EXPIRED
