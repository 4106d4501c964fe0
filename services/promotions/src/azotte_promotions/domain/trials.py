"""Fair trials: one free trial per person per product line, whatever the channel it was taken on.

A person is recognised by markers: the customer, each channel identity linked to it (an App Store account
token, a Google Play purchase token, ...) and the fingerprint of each payment method on file. A trial taken
records its taker's markers; a customer whose markers meet a recorded trial of the same product line is
refused, and the answer names what matched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from azotte_platform.enums import Channel

TRIAL_ALREADY_USED = "TRIAL_ALREADY_USED"


class MarkerKind(StrEnum):
    """What recognises a person; the order is the order a refusal explains itself in."""

    CUSTOMER = "customer"
    CHANNEL_IDENTITY = "channel_identity"
    PAYMENT_METHOD = "payment_method"
    # NOTE: referrals only: an email is not proof enough of one person to refuse a trial.
    EMAIL = "email"


@dataclass(frozen=True, slots=True)
class Marker:
    """One thing a person is recognised by: a customer id, `<identity kind>:<issuer>:<value>`, a fingerprint."""

    kind: MarkerKind
    value: str


def markers_of(
    customer_id: str, identities: Iterable[str], fingerprints: Iterable[str], email: str = ""
) -> tuple[Marker, ...]:
    """A customer's markers (the email, lower-cased, when given); empty values are left out, duplicates once."""
    found = {Marker(MarkerKind.CUSTOMER, customer_id): None}
    found.update({Marker(MarkerKind.CHANNEL_IDENTITY, i): None for i in identities if i})
    found.update({Marker(MarkerKind.PAYMENT_METHOD, f): None for f in fingerprints if f})
    if email.strip():
        found[Marker(MarkerKind.EMAIL, email.strip().lower())] = None
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Trial:
    """A trial taken: the subscription that started it, its product line and its taker's markers then."""

    tenant_id: str
    subscription_id: str
    customer_id: str
    plan_id: str
    product_line: str
    channel: Channel
    started_at: datetime
    markers: tuple[Marker, ...]


@dataclass(frozen=True, slots=True)
class TrialMatch:
    """An earlier trial, and which of the asking customer's markers it shares."""

    marker: Marker
    trial: Trial


@dataclass(frozen=True, slots=True)
class TrialEligibility:
    """Whether the customer may start a trial of the product line; if not, the match that refuses it."""

    product_line: str
    match: TrialMatch | None = None

    @property
    def eligible(self) -> bool:
        return self.match is None

    @property
    def reason(self) -> str:
        return "" if self.match is None else TRIAL_ALREADY_USED


def judge(product_line: str, matches: Sequence[TrialMatch]) -> TrialEligibility:
    """Eligible when no earlier trial of the product line shares a marker; else the most telling match
    (the customer itself, then a channel identity, then a payment method; the earliest trial first)."""
    order = list(MarkerKind)
    relevant = [m for m in matches if m.trial.product_line == product_line]
    if not relevant:
        return TrialEligibility(product_line)
    best = min(relevant, key=lambda m: (order.index(m.marker.kind), m.trial.started_at, m.trial.subscription_id))
    return TrialEligibility(product_line, best)
