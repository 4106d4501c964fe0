"""Payment methods: PSP tokens only (never card numbers), per customer, with one default."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_payments.errors import NoPaymentMethod, PanNotAllowed, PaymentMethodExpired, PaymentMethodNotFound
from azotte_payments.sandbox_psp.tokens import SandboxToken
from azotte_platform.errors import InvalidArgument

_DIGIT_RUN = re.compile(r"\d{13,19}")
_SEPARATORS = re.compile(r"[\s\-.]")


class PaymentMethodType(StrEnum):
    """Kinds of payment method; routing rules may select a PSP by type."""

    CARD = "card"
    SEPA_DEBIT = "sepa_debit"
    PAYPAL = "paypal"
    WALLET = "wallet"
    CARRIER_BILLING = "carrier_billing"


def luhn_valid(digits: str) -> bool:
    """Luhn checksum of a digit string."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def looks_like_pan(text: str) -> bool:
    """Whether `text` contains a 13-19 digit run (separators ignored) passing Luhn."""
    compact = _SEPARATORS.sub("", text)
    return any(luhn_valid(run) for run in _DIGIT_RUN.findall(compact))


def validate_token(token: str) -> None:
    """A token must be a PSP token, never a card number."""
    if not token.strip():
        raise InvalidArgument.field("token", "is required")
    # NOTE: raw card numbers are refused outright; Azotte stores PSP tokens only (PCI scope).
    if looks_like_pan(token):
        raise PanNotAllowed.field("token", "looks like a card number; send a PSP token")


@dataclass
class PaymentMethod:
    """A customer's tokenized payment method."""

    payment_method_id: str
    customer_id: str
    method_type: PaymentMethodType
    token: str
    created_at: datetime
    brand: str = ""
    last4: str = ""
    exp_month: int | None = None
    exp_year: int | None = None
    is_default: bool = False

    def __post_init__(self) -> None:
        validate_token(self.token)
        if self.last4 and (len(self.last4) != 4 or not self.last4.isdigit()):
            raise InvalidArgument.field("last4", "must be 4 digits")
        if (self.exp_month is None) != (self.exp_year is None):
            raise InvalidArgument.field("exp_month", "exp_month and exp_year go together")
        if self.exp_month is not None and not 1 <= self.exp_month <= 12:
            raise InvalidArgument.field("exp_month", "must be 1..12")

    @property
    def fingerprint(self) -> str:
        """The same for every method of the same card or account (the token names it); sandbox scenario
        tokens (`tok_success`, ...) stand for any card and have none."""
        if self.token in SandboxToken.__members__.values():
            return ""
        return hashlib.sha256(f"{self.method_type}\0{self.token}".encode()).hexdigest()[:32]

    def expired_at(self, now: datetime) -> bool:
        """A card expires after the last day of its expiry month."""
        if self.exp_month is None or self.exp_year is None:
            return False
        return (now.year, now.month) > (self.exp_year, self.exp_month)

    def ensure_chargeable(self, now: datetime) -> None:
        """Refuse to charge an expired method."""
        if self.expired_at(now):
            raise PaymentMethodExpired(
                f"payment method {self.payment_method_id} expired {self.exp_month:02d}/{self.exp_year}"
            )


@dataclass
class CustomerPaymentMethods:
    """All payment methods of one customer; exactly one is default when any exist."""

    customer_id: str
    methods: list[PaymentMethod] = field(default_factory=list)

    def add(self, method: PaymentMethod, make_default: bool = False) -> None:
        """Add a method; the first one, or one asked for, becomes the default."""
        if method.customer_id != self.customer_id:
            raise InvalidArgument.field("customer_id", "does not own this payment method")
        self.methods.append(method)
        if make_default or len(self.methods) == 1:
            self.set_default(method.payment_method_id)

    def get(self, payment_method_id: str) -> PaymentMethod:
        """The method with this id, or PaymentMethodNotFound."""
        for method in self.methods:
            if method.payment_method_id == payment_method_id:
                return method
        raise PaymentMethodNotFound(f"payment_method_id {payment_method_id!r}: no such payment method")

    def default(self) -> PaymentMethod | None:
        """The default method, if any."""
        return next((method for method in self.methods if method.is_default), None)

    def set_default(self, payment_method_id: str) -> None:
        """Make one method the default."""
        chosen = self.get(payment_method_id)
        for method in self.methods:
            method.is_default = method is chosen

    def remove(self, payment_method_id: str) -> PaymentMethod:
        """Delete a method; the newest remaining one inherits the default."""
        removed = self.get(payment_method_id)
        self.methods.remove(removed)
        if removed.is_default and self.methods:
            newest = max(reversed(self.methods), key=lambda method: method.created_at)
            self.set_default(newest.payment_method_id)
        return removed

    def resolve_for_charge(self, payment_method_id: str, now: datetime) -> PaymentMethod:
        """The method to charge (given id, else the default), checked for expiry."""
        if payment_method_id:
            method = self.get(payment_method_id)
        else:
            default = self.default()
            if default is None:
                raise NoPaymentMethod(f"customer {self.customer_id} has no payment method")
            method = default
        method.ensure_chargeable(now)
        return method


@dataclass(frozen=True)
class PaymentMethodQuery:
    """Which of a customer's methods to list, in which order; None matches every type, or both defaults."""

    customer_id: str
    method_type: PaymentMethodType | None = None
    is_default: bool | None = None
    newest_first: bool = False

    @property
    def key(self) -> tuple[object, ...]:
        """What a page token is bound to."""
        return ("payment_methods", self.customer_id, self.method_type, self.is_default, self.newest_first)
