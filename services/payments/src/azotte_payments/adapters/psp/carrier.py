"""Adapter for a telecom carrier's CAMARA Carrier Billing API: the amount goes on the subscriber's phone bill.

One step: `createPayment` (`POST /payments`). Two steps: `preparePayment` (`POST /payments/prepare`) reserves
the amount, then `confirmPayment` charges it (`cancelPayment` drops a reservation). A payment is `processing`,
`reserved`, `pending_validation` (the subscriber must confirm it, e.g. by a one-time code), `succeeded`,
`denied` or `cancelled`. CAMARA covers one-off payments: Azotte makes them recurring by charging each period.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import aiohttp
from babel.numbers import get_currency_precision

from azotte_payments.adapters.psp.base import (
    HttpPspConfig,
    PspHttp,
    PspHttpError,
    PspResponse,
    guarded_charge,
    guarded_operation,
    server_failure,
)
from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult
from azotte_payments.ports import PspChargeRequest

API = "/carrier-billing/v0.4"
REFUND_API = "/carrier-billing-refund/v0.1"


class CarrierFlow(StrEnum):
    """How an account's payments are made: at once, or reserved then confirmed."""

    ONE_STEP = "one_step"
    TWO_STEP = "two_step"


class PaymentStatus(StrEnum):
    """The states of a CAMARA payment."""

    PROCESSING = "processing"
    RESERVED = "reserved"
    PENDING_VALIDATION = "pending_validation"
    SUCCEEDED = "succeeded"
    DENIED = "denied"
    CANCELLED = "cancelled"


def decimal_amount(amount_minor: int, currency: str) -> str:
    """Minor units as CAMARA's decimal amount (`499` EUR → `4.99`), exact: never through a float."""
    return str(Decimal(amount_minor).scaleb(-get_currency_precision(currency)))


def phone_number(token: str) -> str:
    """The E.164 number a carrier billing method names (`tel:+34600000000` or `+34600000000`)."""
    return token.removeprefix("tel:")


def result_of(psp: str, payment: dict[str, Any], latency_ms: int = 0) -> PspChargeResult:
    """A payment's state as a charge result: succeeded is approved, denied and cancelled are declines.

    Processing, pending validation and an unconfirmed reservation are undecided: the charge waits for the
    carrier's notification (or the reconciler's look-up), never failing over to another PSP.
    """
    payment_id = str(payment.get("paymentId", ""))
    status = str(payment.get("paymentStatus", ""))
    match status:
        case PaymentStatus.SUCCEEDED:
            return PspChargeResult.approved(psp, payment_id, latency_ms)
        case PaymentStatus.DENIED | PaymentStatus.CANCELLED:
            # NOTE: a denial is the carrier's answer for this line (no credit, spending cap, barred): a soft decline
            # that follows the tenant's dunning policy, like a card's do-not-honor.
            raw = f"{status}:{payment.get('denialReason', '')}"[:200]
            return PspChargeResult.declined(psp, Decline(DeclineReason.DO_NOT_HONOR, raw), payment_id, latency_ms)
        case PaymentStatus.PROCESSING | PaymentStatus.PENDING_VALIDATION | PaymentStatus.RESERVED:
            return PspChargeResult.declined(psp, Decline(DeclineReason.AWAITING_PSP, status), payment_id, latency_ms)
        case _:
            return PspChargeResult.declined(psp, Decline(DeclineReason.PROCESSING_ERROR, f"status:{status}"[:200]))


class CarrierBillingPsp:
    """One tenant's account at a carrier (`ports.PaymentServiceProvider`)."""

    def __init__(self, name: str, config: HttpPspConfig, flow: CarrierFlow):
        self._name = name
        self._flow = flow
        self._configured = bool(config.base_url)
        self._http = PspHttp(config, {"Authorization": f"Bearer {config.api_key}"})

    @property
    def name(self) -> str:
        """Routing name of this account."""
        return self._name

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """createPayment, or preparePayment then confirmPayment; the attempt's key is the `clientCorrelator`."""
        if not self._configured:
            return PspChargeResult.declined(self._name, Decline(DeclineReason.PSP_UNAVAILABLE, "carrier_unknown"))
        body = {
            "amountTransaction": {
                "phoneNumber": phone_number(request.payment_token),
                "clientCorrelator": request.idempotency_key,
                "referenceCode": request.reference,
                "paymentAmount": {
                    "chargingInformation": {
                        "amount": decimal_amount(request.amount_minor, request.currency),
                        "currency": request.currency,
                        "description": request.description or request.reference,
                        "isTaxIncluded": True,
                    }
                },
            }
        }
        path = f"{API}/payments" if self._flow is CarrierFlow.ONE_STEP else f"{API}/payments/prepare"
        result = await guarded_charge(
            self._name,
            lambda: self._http.post(path, body, idempotency_key=request.idempotency_key),
            self._interpret,
        )
        if result.decline is not None and result.decline.raw_code == PaymentStatus.RESERVED and result.psp_reference:
            return await self._confirm(result.psp_reference, request.idempotency_key)
        return result

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """The payment made under the attempt's `clientCorrelator` (a reservation is confirmed); None if none."""
        found = await self._http.get(f"{API}/payments", {"clientCorrelator": idempotency_key})
        payments: list[dict[str, Any]] = found.get("payments", [])
        if not payments:
            return None
        payment = payments[0]
        if payment.get("paymentStatus") == PaymentStatus.RESERVED:
            # NOTE: a reservation is half of a two-step charge: the subscriber validated it, Azotte confirms it.
            return await self._confirm(str(payment["paymentId"]), idempotency_key)
        return result_of(self._name, payment)

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """createRefund of part or all of a succeeded payment."""
        body = {
            "paymentId": psp_reference,
            "clientCorrelator": idempotency_key,
            "amount": decimal_amount(amount_minor, currency),
            "currency": currency,
        }
        return await guarded_operation(
            self._name,
            lambda: self._http.post(f"{REFUND_API}/refunds", body, idempotency_key=idempotency_key),
            self._interpret_refund,
        )

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """cancelPayment of a reservation; a succeeded payment is refunded in full instead."""
        try:
            payment = await self._http.get(f"{API}/payments/{psp_reference}", {})
        except (PspHttpError, aiohttp.ClientError, TimeoutError) as error:
            return PspOperationResult(self._name, succeeded=False, error_code=type(error).__name__, retryable=True)
        if payment.get("paymentStatus") in (PaymentStatus.RESERVED, PaymentStatus.PENDING_VALIDATION):
            return await guarded_operation(
                self._name,
                lambda: self._http.post(f"{API}/payments/{psp_reference}/cancel", {}, idempotency_key=idempotency_key),
                self._interpret_cancel,
            )
        body = {"paymentId": psp_reference, "clientCorrelator": idempotency_key}
        return await guarded_operation(
            self._name,
            lambda: self._http.post(f"{REFUND_API}/refunds", body, idempotency_key=idempotency_key),
            self._interpret_refund,
        )

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    async def _confirm(self, payment_id: str, idempotency_key: str) -> PspChargeResult:
        return await guarded_charge(
            self._name,
            lambda: self._http.post(
                f"{API}/payments/{payment_id}/confirm", {}, idempotency_key=f"confirm:{idempotency_key}"
            ),
            self._interpret,
        )

    def _interpret(self, response: PspResponse, latency_ms: int) -> PspChargeResult:
        failure = server_failure(self._name, response, latency_ms)
        if failure is not None:
            return failure
        if response.status_code in (200, 201):
            return result_of(self._name, response.body, latency_ms)
        # NOTE: 400/404/409/422: the line cannot be charged as asked (unknown number, not eligible): final.
        raw = str(response.body.get("code") or f"http_{response.status_code}")[:200]
        return PspChargeResult.declined(self._name, Decline(DeclineReason.INVALID_REQUEST, raw), latency_ms=latency_ms)

    def _interpret_refund(self, response: PspResponse) -> PspOperationResult:
        body = response.body
        if response.status_code in (200, 201) and body.get("refundStatus") in ("succeeded", "processing"):
            return PspOperationResult(self._name, succeeded=True, psp_reference=str(body.get("refundId", "")))
        return PspOperationResult(
            self._name,
            succeeded=False,
            error_code=str(body.get("code") or body.get("refundStatus") or f"http_{response.status_code}"),
            retryable=response.status_code >= 500,
        )

    def _interpret_cancel(self, response: PspResponse) -> PspOperationResult:
        if response.status_code in (200, 202, 204):
            return PspOperationResult(self._name, succeeded=True)
        return PspOperationResult(
            self._name,
            succeeded=False,
            error_code=str(response.body.get("code") or f"http_{response.status_code}"),
            retryable=response.status_code >= 500,
        )
