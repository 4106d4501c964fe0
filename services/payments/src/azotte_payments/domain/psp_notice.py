"""What a PSP's webhook tells Azotte, whatever the PSP: a dispute moved, a waiting payment was authenticated or
decided."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DisputeNotice:
    """A dispute of the payment `psp_reference` was opened or closed (won or lost) at the PSP."""

    psp_dispute_id: str
    psp_reference: str
    currency: str
    amount_minor: int
    fee_minor: int
    reason: str
    closed: bool = False
    won: bool = False


@dataclass(frozen=True)
class PaymentAuthenticated:
    """The customer authenticated the payment `psp_reference` (3-D Secure) and the PSP captured it."""

    psp_reference: str


@dataclass(frozen=True)
class PaymentStatusChanged:
    """The PSP decided (or moved) the payment `psp_reference`: read it back and settle the charge waiting for it."""

    psp_reference: str


PspNotice = DisputeNotice | PaymentAuthenticated | PaymentStatusChanged
"""Every notice payments acts on; other webhook events are acknowledged and kept only as seen."""
