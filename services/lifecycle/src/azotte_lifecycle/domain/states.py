"""Who bills a subscription (the shared `Channel` and `SubscriptionState` are in `azotte_platform.enums`)."""

from __future__ import annotations

from enum import StrEnum


class BillingOrigin(StrEnum):
    """Who collects the money: Azotte (through payments) or the store/carrier/partner."""

    AZOTTE_BILLED = "azotte_billed"
    STORE_BILLED = "store_billed"
