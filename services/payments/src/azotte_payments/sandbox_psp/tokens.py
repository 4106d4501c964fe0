"""Deterministic test tokens understood by every sandbox PSP."""

from __future__ import annotations

from enum import StrEnum


class SandboxToken(StrEnum):
    """Payment tokens that trigger a fixed answer; any other token is approved."""

    SUCCESS = "tok_success"
    INSUFFICIENT_FUNDS = "tok_insufficient_funds"
    DO_NOT_HONOR = "tok_do_not_honor"
    STOLEN_CARD = "tok_stolen_card"
    LOST_CARD = "tok_lost_card"
    EXPIRED_CARD = "tok_expired_card"
    PROCESSING_ERROR = "tok_processing_error"
    TIMEOUT = "tok_timeout"


def scenario_of(token: str) -> SandboxToken:
    """The scenario a token triggers (unknown tokens behave like SUCCESS)."""
    try:
        return SandboxToken(token)
    except ValueError:
        return SandboxToken.SUCCESS
