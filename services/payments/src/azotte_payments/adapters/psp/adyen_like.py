"""Adapter for Adyen-like PSPs: `/payments` with `resultCode` / `refusalReasonCode`."""

from __future__ import annotations

from typing import Any

from azotte_payments.adapters.psp.base import (
    HttpPspConfig,
    PspHttp,
    PspResponse,
    guarded_charge,
    guarded_operation,
    server_failure,
)
from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult
from azotte_payments.ports import PspChargeRequest


def normalize_adyen_refusal(result_code: str, refusal_code: str, refusal_raw: str) -> DeclineReason:
    """Map Adyen-style `resultCode` / `refusalReasonCode` (and the raw issuer text) onto a reason."""
    if result_code == "Error":
        return DeclineReason.PROCESSING_ERROR
    match refusal_code:
        case "12" | "28" | "29":
            return DeclineReason.INSUFFICIENT_FUNDS
        case "2" | "27":
            return DeclineReason.DO_NOT_HONOR
        case "5":
            # NOTE: lost and stolen both arrive as "Blocked Card"; the raw issuer text tells them apart.
            return DeclineReason.LOST_CARD if "lost" in refusal_raw.lower() else DeclineReason.STOLEN_CARD
        case "6":
            return DeclineReason.EXPIRED_CARD
        case "38":
            # NOTE: "Authentication required": the issuer wants 3-D Secure, impossible without the shopper.
            return DeclineReason.AUTHENTICATION_REQUIRED
        case "4" | "9":
            return DeclineReason.PROCESSING_ERROR
        case _:
            return DeclineReason.UNKNOWN_DECLINE


class AdyenLikePsp:
    """An Adyen-like PSP over HTTP; the attempt's idempotency key is also the merchant reference."""

    def __init__(
        self,
        config: HttpPspConfig,
        merchant_account: str,
        name: str = "adyen_like",
    ):
        self._name = name
        self._merchant_account = merchant_account
        self._http = PspHttp(config, {"X-API-Key": config.api_key})

    @property
    def name(self) -> str:
        """Routing name of this PSP."""
        return self._name

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """POST /payments with a stored payment method token."""
        body = {
            "merchantAccount": self._merchant_account,
            "reference": request.idempotency_key,
            "merchantOrderReference": request.reference,
            "amount": {"value": request.amount_minor, "currency": request.currency.upper()},
            "paymentMethod": {"type": "scheme", "storedPaymentMethodId": request.payment_token},
            "shopperInteraction": "ContAuth",
            "recurringProcessingModel": "Subscription",
        }
        return await guarded_charge(
            self._name,
            lambda: self._http.post("/payments", body, idempotency_key=request.idempotency_key),
            self._interpret_charge,
        )

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """POST /payments/{pspReference}/refunds."""
        body = {
            "merchantAccount": self._merchant_account,
            "reference": idempotency_key,
            "amount": {"value": amount_minor, "currency": currency.upper()},
        }
        return await guarded_operation(
            self._name,
            lambda: self._http.post(f"/payments/{psp_reference}/refunds", body, idempotency_key=idempotency_key),
            self._interpret_operation,
        )

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """POST /payments/{pspReference}/cancels."""
        body = {"merchantAccount": self._merchant_account, "reference": idempotency_key}
        return await guarded_operation(
            self._name,
            lambda: self._http.post(f"/payments/{psp_reference}/cancels", body, idempotency_key=idempotency_key),
            self._interpret_operation,
        )

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """GET /payments?reference=...; None when the PSP never saw the reference."""
        found = await self._http.get("/payments", {"reference": idempotency_key})
        payments: list[dict[str, Any]] = found["payments"]
        return self._result_of(payments[0], 0) if payments else None

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    def _interpret_charge(self, response: PspResponse, latency_ms: int) -> PspChargeResult:
        failure = server_failure(self._name, response, latency_ms)
        if failure is not None:
            return failure
        body: dict[str, Any] = response.body
        if response.status_code != 200:
            raw = str(body.get("errorCode") or f"http_{response.status_code}")
            return PspChargeResult.declined(
                self._name, Decline(DeclineReason.INVALID_REQUEST, raw), latency_ms=latency_ms
            )
        return self._result_of(body, latency_ms)

    def _result_of(self, payment: dict[str, Any], latency_ms: int) -> PspChargeResult:
        result_code = str(payment.get("resultCode", ""))
        psp_reference = payment.get("pspReference")
        if result_code == "Authorised":
            return PspChargeResult.approved(self._name, str(psp_reference), latency_ms)
        code = str(payment.get("refusalReasonCode", ""))
        raw = str((payment.get("additionalData") or {}).get("refusalReasonRaw", ""))
        decline = Decline(normalize_adyen_refusal(result_code, code, raw), f"{result_code}:{code}")
        return PspChargeResult.declined(self._name, decline, psp_reference, latency_ms)

    def _interpret_operation(self, response: PspResponse) -> PspOperationResult:
        body: dict[str, Any] = response.body
        if response.status_code in (200, 201) and body.get("status") == "received":
            return PspOperationResult(self._name, succeeded=True, psp_reference=body.get("pspReference"))
        return PspOperationResult(
            self._name,
            succeeded=False,
            error_code=str(body.get("errorCode") or f"http_{response.status_code}"),
            retryable=response.status_code >= 500,
        )
