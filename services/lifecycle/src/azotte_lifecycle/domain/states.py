"""Normalized subscription states, billing origins and channels."""

from __future__ import annotations

from enum import StrEnum


class SubscriptionState(StrEnum):
    """Normalized state of a subscription, whatever its channel."""

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


class BillingOrigin(StrEnum):
    """Who collects the money: Azotte (through payments) or the store/carrier/partner."""

    AZOTTE_BILLED = "azotte_billed"
    STORE_BILLED = "store_billed"


class Channel(StrEnum):
    """Sales channel a subscription came from (mirrors azotte.common.v1.Channel)."""

    WEB = "web"
    APP_STORE = "app_store"
    GOOGLE_PLAY = "google_play"
    TELECOM = "telecom"
    PARTNER = "partner"
