"""Typed errors of the payments service: one class per reason (the `google.rpc.ErrorInfo` reason).

A declined charge is not an error (the charge answers `FAILED` with its decline); callers match
these errors by type, never by their reason string.
"""

from __future__ import annotations

from azotte_platform.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
    Unauthenticated,
    Unavailable,
)


class CurrencyMismatch(InvalidArgument):
    """The charge's currency is not the storefront's currency."""

    reason = "CURRENCY_MISMATCH"


class PanNotAllowed(InvalidArgument):
    """A payment method token looks like a card number; only PSP tokens are stored."""

    reason = "PAN_NOT_ALLOWED"


class RefundExceedsCaptured(InvalidArgument):
    """A refund asks for more than was captured and not yet refunded."""

    reason = "REFUND_EXCEEDS_CAPTURED"


class ChargeNotFound(NotFound):
    """No charge with that id (for this tenant)."""

    reason = "CHARGE_NOT_FOUND"


class PaymentMethodNotFound(NotFound):
    """No payment method with that id for the customer."""

    reason = "PAYMENT_METHOD_NOT_FOUND"


class StorefrontNotFound(NotFound):
    """The catalog has no storefront with that id."""

    reason = "STOREFRONT_NOT_FOUND"


class NoPaymentMethod(FailedPrecondition):
    """The customer has no payment method to charge."""

    reason = "NO_PAYMENT_METHOD"


class PaymentMethodExpired(FailedPrecondition):
    """The payment method expired before the charge."""

    reason = "PAYMENT_METHOD_EXPIRED"


class NoPspRoute(FailedPrecondition):
    """No routing rule matches the charge, or no routed PSP is configured."""

    reason = "NO_PSP_ROUTE"


class PspNotConfigured(FailedPrecondition):
    """The charge's PSP has no adapter in this process."""

    reason = "PSP_NOT_CONFIGURED"


class PspRefused(FailedPrecondition):
    """The PSP refused a refund or void for good."""

    reason = "PSP_REFUSED"


class NoPspCapture(FailedPrecondition):
    """The charge was not captured by a PSP, so nothing can go back to the card."""

    reason = "NO_PSP_CAPTURE"


class ChargeNotRefundable(FailedPrecondition):
    """Only succeeded charges can be refunded."""

    reason = "CHARGE_NOT_REFUNDABLE"


class InsufficientCredit(FailedPrecondition):
    """The customer's credit balance is below the amount to spend."""

    reason = "INSUFFICIENT_CREDIT"


class StorefrontTaxInvalid(FailedPrecondition):
    """The catalog's storefront has a tax rate that is not a decimal."""

    reason = "STOREFRONT_TAX_INVALID"


class IdempotencyKeyReused(Aborted):
    """An idempotency key was used before for a charge with other content."""

    reason = "IDEMPOTENCY_KEY_REUSED"


class PspUnavailable(Unavailable):
    """The PSP could not refund or void now; retry."""

    reason = "PSP_UNAVAILABLE"


class InvalidPspAccount(InvalidArgument):
    """A PSP account's id, mode or credentials are not valid for its kind."""

    reason = "INVALID_PSP_ACCOUNT"


class PspAccountNotFound(NotFound):
    """The tenant has no PSP account with that id."""

    reason = "PSP_ACCOUNT_NOT_FOUND"


class PspAccountAlreadyExists(AlreadyExists):
    """The tenant already has a PSP account with that id."""

    reason = "PSP_ACCOUNT_ALREADY_EXISTS"


class PspWebhookRejected(Unauthenticated):
    """A PSP webhook's signature is missing, forged, or too old."""

    reason = "PSP_WEBHOOK_REJECTED"


class DisputedPaymentNotFound(FailedPrecondition):
    """A dispute names a payment not recorded (yet): nothing is applied, so the PSP delivers it again."""

    reason = "DISPUTED_PAYMENT_NOT_FOUND"


class InvoiceNotFound(NotFound):
    """No invoice (or credit note) with that id for this tenant."""

    reason = "INVOICE_NOT_FOUND"


class InvoiceStateConflict(FailedPrecondition):
    """The invoice's state does not allow the change (e.g. voiding a paid invoice, issuing it twice)."""

    reason = "INVOICE_STATE_CONFLICT"


class CreditNoteExceedsInvoice(InvalidArgument):
    """A credit note would credit more than the invoice's total not yet credited."""

    reason = "CREDIT_NOTE_EXCEEDS_INVOICE"


class BankPaymentNotFound(NotFound):
    """No bank payment with that id for this tenant."""

    reason = "BANK_PAYMENT_NOT_FOUND"


class BankPaymentAlreadyRecorded(AlreadyExists):
    """A transfer with that bank reference is already recorded."""

    reason = "BANK_PAYMENT_ALREADY_RECORDED"


class BankPaymentAlreadyMatched(FailedPrecondition):
    """The bank payment already pays an invoice; only unmatched payments are assigned."""

    reason = "BANK_PAYMENT_ALREADY_MATCHED"
