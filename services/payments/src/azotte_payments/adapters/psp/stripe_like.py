"""Adapter for Stripe-like PSPs: `/v1/charges`, `/v1/refunds`, `Idempotency-Key`, 402 card errors."""

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


def normalize_stripe_decline(code: str, decline_code: str) -> DeclineReason:
    """Map Stripe-style `code` / `decline_code` onto a normalized reason."""
    match decline_code or code:
        case "insufficient_funds":
            return DeclineReason.INSUFFICIENT_FUNDS
        case "do_not_honor" | "generic_decline":
            return DeclineReason.DO_NOT_HONOR
        case "stolen_card":
            return DeclineReason.STOLEN_CARD
        case "lost_card":
            return DeclineReason.LOST_CARD
        case "expired_card":
            return DeclineReason.EXPIRED_CARD
        case "authentication_required":
            return DeclineReason.AUTHENTICATION_REQUIRED
        case "processing_error" | "issuer_not_available" | "try_again_later":
            return DeclineReason.PROCESSING_ERROR
        case _:
            return DeclineReason.UNKNOWN_DECLINE


class StripeLikePsp:
    """A Stripe-like PSP over HTTP."""

    def __init__(self, config: HttpPspConfig, name: str = "stripe_like"):
        self._name = name
        self._http = PspHttp(config, {"Authorization": f"Bearer {config.api_key}"})

    @property
    def name(self) -> str:
        """Routing name of this PSP."""
        return self._name

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """POST /v1/charges with the attempt's idempotency key."""
        body = {
            "amount": request.amount_minor,
            "currency": request.currency.lower(),
            "source": request.payment_token,
            "description": request.description,
            "metadata": {"reference": request.reference},
        }
        return await guarded_charge(
            self._name,
            lambda: self._http.post("/v1/charges", body, idempotency_key=request.idempotency_key),
            self._interpret_charge,
        )

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """POST /v1/refunds for part or all of a charge."""
        body = {"charge": psp_reference, "amount": amount_minor}
        return await guarded_operation(
            self._name,
            lambda: self._http.post("/v1/refunds", body, idempotency_key=idempotency_key),
            self._interpret_operation,
        )

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """POST /v1/charges/{id}/void."""
        return await guarded_operation(
            self._name,
            lambda: self._http.post(f"/v1/charges/{psp_reference}/void", idempotency_key=idempotency_key),
            self._interpret_operation,
        )

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """GET /v1/charges?idempotency_key=...; None when the PSP never saw the key."""
        found = await self._http.get("/v1/charges", {"idempotency_key": idempotency_key})
        charges: list[dict[str, Any]] = found["data"]
        if not charges:
            return None
        charge = charges[0]
        if charge["paid"]:
            return PspChargeResult.approved(self._name, charge["id"])
        reason = normalize_stripe_decline("", charge.get("failure_code") or "")
        return PspChargeResult.declined(self._name, Decline(reason, charge.get("failure_code") or ""), charge["id"])

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.aclose()

    def _interpret_charge(self, response: PspResponse, latency_ms: int) -> PspChargeResult:
        failure = server_failure(self._name, response, latency_ms)
        if failure is not None:
            return failure
        body: dict[str, Any] = response.body
        if response.status_code == 200 and body.get("paid"):
            return PspChargeResult.approved(self._name, body["id"], latency_ms)
        error: dict[str, Any] = body.get("error", {})
        if response.status_code == 402:
            code, decline_code = error.get("code", ""), error.get("decline_code", "")
            decline = Decline(normalize_stripe_decline(code, decline_code), decline_code or code)
            return PspChargeResult.declined(self._name, decline, error.get("charge"), latency_ms)
        raw = error.get("type") or f"http_{response.status_code}"
        return PspChargeResult.declined(self._name, Decline(DeclineReason.INVALID_REQUEST, raw), latency_ms=latency_ms)

    def _interpret_operation(self, response: PspResponse) -> PspOperationResult:
        body: dict[str, Any] = response.body
        if response.status_code == 200:
            return PspOperationResult(self._name, succeeded=True, psp_reference=body.get("id"))
        error: dict[str, Any] = body.get("error", {})
        return PspOperationResult(
            self._name,
            succeeded=False,
            error_code=error.get("code") or error.get("type") or f"http_{response.status_code}",
            retryable=response.status_code >= 500,
        )
