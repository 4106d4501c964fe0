"""Sales channels a subscriber can come from (mirrors azotte.common.v1.Channel)."""

from __future__ import annotations

from enum import StrEnum


class Channel(StrEnum):
    """A sales channel."""

    WEB = "web"
    APP_STORE = "app_store"
    GOOGLE_PLAY = "google_play"
    TELECOM = "telecom"
    PARTNER = "partner"
