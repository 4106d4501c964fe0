"""Stripe-like sandbox: `POST /v1/charges` JSON, `Idempotency-Key`, 402 card errors."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from azotte_payments.sandbox_psp.book import (
    SandboxBook,
    SandboxCharge,
    SandboxSettings,
    fingerprint_of,
    json_body,
    outage_switch,
)
from azotte_payments.sandbox_psp.tokens import SandboxToken, scenario_of


def _decline_of(token: SandboxToken) -> tuple[str, str, str] | None:
    """(code, decline_code, message) of a declining token, None when it is approved."""
    match token:
        case SandboxToken.INSUFFICIENT_FUNDS:
            return "card_declined", "insufficient_funds", "Your card has insufficient funds."
        case SandboxToken.DO_NOT_HONOR:
            return "card_declined", "do_not_honor", "Your card was declined."
        case SandboxToken.STOLEN_CARD:
            return "card_declined", "stolen_card", "Your card was declined."
        case SandboxToken.LOST_CARD:
            return "card_declined", "lost_card", "Your card was declined."
        case SandboxToken.EXPIRED_CARD:
            return "expired_card", "expired_card", "Your card has expired."
        case SandboxToken.PROCESSING_ERROR:
            return "processing_error", "processing_error", "An error occurred while processing your card."
        case _:
            return None


def _error(status_code: int, error_type: str, message: str, code: str = "") -> JSONResponse:
    return JSONResponse({"error": {"type": error_type, "code": code, "message": message}}, status_code=status_code)


def _charge_body(charge: SandboxCharge) -> dict[str, Any]:
    status = "succeeded" if charge.captured else "failed"
    return {
        "id": charge.charge_id,
        "object": "charge",
        "amount": charge.amount_minor,
        "amount_refunded": charge.refunded_minor,
        "currency": charge.currency,
        "captured": charge.captured and not charge.voided,
        "paid": charge.captured,
        "refunded": charge.refunded_minor == charge.amount_minor,
        "status": "canceled" if charge.voided else status,
        "failure_code": charge.decline_code or None,
        "metadata": {"idempotency_key": charge.idempotency_key, "reference": charge.reference},
    }


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    """A fresh Stripe-like sandbox with its own in-memory state."""
    book = SandboxBook("ch_", settings or SandboxSettings.from_env())

    def authorized(request: Request) -> bool:
        return request.headers.get("authorization", "").startswith("Bearer sk_test_")

    async def create_charge(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        await book.simulate_latency(request)
        if book.outage:
            return _error(503, "api_error", "The service is temporarily unavailable.")
        body = await json_body(request)
        key = request.headers.get("idempotency-key", "")
        fingerprint = fingerprint_of(body)
        stored = book.stored(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters.",
                )
            return JSONResponse(stored.body, stored.status_code, headers={"Idempotent-Replayed": "true"})
        amount, currency, source = body.get("amount"), body.get("currency"), body.get("source")
        if not isinstance(amount, int) or amount <= 0 or not isinstance(currency, str) or not source:
            return _error(400, "invalid_request_error", "amount, currency and source are required", "parameter_missing")
        token = scenario_of(str(source))
        decline = _decline_of(token)
        metadata = body.get("metadata") or {}
        charge = SandboxCharge(
            book.new_id(),
            amount,
            currency.lower(),
            str(source),
            key,
            str(metadata.get("reference", "")),
            captured=decline is None,
            decline_code=decline[1] if decline else "",
        )
        book.record_charge(charge)
        if decline is None:
            answer = book.remember(key, fingerprint, 200, _charge_body(charge))
        else:
            code, decline_code, message = decline
            error = {"type": "card_error", "code": code, "decline_code": decline_code, "message": message}
            answer = book.remember(key, fingerprint, 402, {"error": {**error, "charge": charge.charge_id}})
        if token is SandboxToken.TIMEOUT:
            # The charge is captured, but the answer arrives after the client gave up.
            await book.hang()
        return answer

    async def get_charge(request: Request) -> Response:
        charge = book.charges.get(request.path_params["charge_id"])
        if charge is None:
            return _error(404, "invalid_request_error", "No such charge", "resource_missing")
        return JSONResponse(_charge_body(charge))

    async def list_charges(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        found = book.find(idempotency_key=request.query_params.get("idempotency_key", ""))
        return JSONResponse({"object": "list", "data": [_charge_body(charge) for charge in found]})

    async def create_refund(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        await book.simulate_latency(request)
        body = await json_body(request)
        key = request.headers.get("idempotency-key", "")
        fingerprint = fingerprint_of(body)
        stored = book.stored(key)
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return _error(400, "idempotency_error", "Keys for idempotent requests must match.")
            return JSONResponse(stored.body, stored.status_code, headers={"Idempotent-Replayed": "true"})
        charge = book.charges.get(str(body.get("charge", "")))
        if charge is None or not charge.captured:
            return _error(400, "invalid_request_error", "No such charge", "resource_missing")
        remaining = charge.amount_minor - charge.refunded_minor
        amount = body.get("amount", remaining)
        if charge.voided or remaining == 0:
            return _error(400, "invalid_request_error", "Charge already refunded.", "charge_already_refunded")
        if not isinstance(amount, int) or not 0 < amount <= remaining:
            return _error(
                400,
                "invalid_request_error",
                "Refund amount is greater than unrefunded amount",
                "amount_too_large",
            )
        charge.refunded_minor += amount
        refund = {
            "id": f"re_{book.new_id()[3:]}",
            "object": "refund",
            "amount": amount,
            "charge": charge.charge_id,
            "status": "succeeded",
        }
        return book.remember(key, fingerprint, 200, refund)

    async def void_charge(request: Request) -> Response:
        if not authorized(request):
            return _error(401, "invalid_request_error", "Invalid API Key provided.")
        charge = book.charges.get(request.path_params["charge_id"])
        if charge is None or not charge.captured:
            return _error(404, "invalid_request_error", "No such charge", "resource_missing")
        if charge.refunded_minor:
            return _error(
                400,
                "invalid_request_error",
                "Charge is refunded; it cannot be voided.",
                "charge_already_refunded",
            )
        charge.voided = True
        return JSONResponse(_charge_body(charge))

    async def count_captures(request: Request) -> Response:
        key = request.query_params.get("idempotency_key", "")
        return JSONResponse({"idempotency_key": key, "captures": book.captures_by_key[key]})

    return Starlette(
        routes=[
            Route("/v1/charges", create_charge, methods=["POST"]),
            Route("/v1/charges", list_charges, methods=["GET"]),
            Route("/v1/charges/{charge_id}", get_charge, methods=["GET"]),
            Route("/v1/charges/{charge_id}/void", void_charge, methods=["POST"]),
            Route("/v1/refunds", create_refund, methods=["POST"]),
            Route("/_test/captures", count_captures, methods=["GET"]),
            Route("/_test/outage", outage_switch(book), methods=["POST"]),
        ]
    )
