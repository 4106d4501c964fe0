"""Adyen-like sandbox: `POST /payments` with `resultCode` / `refusalReasonCode`, modification calls."""

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


def _refusal_of(token: SandboxToken) -> tuple[str, str, str, str] | None:
    """(resultCode, refusalReasonCode, refusalReason, refusalReasonRaw) of a refused token."""
    match token:
        case SandboxToken.INSUFFICIENT_FUNDS:
            return "Refused", "12", "Not enough balance", "51 : Insufficient funds"
        case SandboxToken.DO_NOT_HONOR:
            return "Refused", "2", "Refused", "05 : Do not honor"
        case SandboxToken.STOLEN_CARD:
            return "Refused", "5", "Blocked Card", "43 : Stolen card, pick up"
        case SandboxToken.LOST_CARD:
            return "Refused", "5", "Blocked Card", "41 : Lost card, pick up"
        case SandboxToken.EXPIRED_CARD:
            return "Refused", "6", "Expired Card", "54 : Expired card"
        case SandboxToken.PROCESSING_ERROR:
            return "Error", "4", "Acquirer Error", "96 : System malfunction"
        case _:
            return None


def _validation_error(status: int, error_code: str, message: str) -> JSONResponse:
    body = {"status": status, "errorCode": error_code, "message": message, "errorType": "validation"}
    return JSONResponse(body, status_code=status)


def _payment_body(charge: SandboxCharge, refusal: tuple[str, str, str, str] | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "pspReference": charge.charge_id,
        "merchantReference": charge.reference,
        "amount": {"value": charge.amount_minor, "currency": charge.currency},
        "resultCode": "Authorised",
    }
    if refusal is not None:
        result_code, code, reason, raw = refusal
        body |= {
            "resultCode": result_code,
            "refusalReasonCode": code,
            "refusalReason": reason,
            "additionalData": {"refusalReasonRaw": raw},
        }
    return body


def create_app(settings: SandboxSettings | None = None) -> Starlette:
    """A fresh Adyen-like sandbox with its own in-memory state."""
    book = SandboxBook("", settings or SandboxSettings.from_env())
    refusals: dict[str, tuple[str, str, str, str] | None] = {}

    def authorized(request: Request) -> bool:
        return bool(request.headers.get("x-api-key"))

    def replay(key: str, fingerprint: str) -> Response | None:
        stored = book.stored(key)
        if stored is None:
            return None
        if stored.fingerprint != fingerprint:
            return _validation_error(422, "704", "Idempotency key was already used with a different request")
        return JSONResponse(stored.body, stored.status_code)

    async def create_payment(request: Request) -> Response:
        if not authorized(request):
            return _validation_error(401, "000", "HTTP Status Response - Unauthorized")
        await book.simulate_latency(request)
        if book.outage:
            return _validation_error(503, "905", "Service temporarily unavailable")
        body = await json_body(request)
        key = request.headers.get("idempotency-key", "")
        fingerprint = fingerprint_of(body)
        replayed = replay(key, fingerprint)
        if replayed is not None:
            return replayed
        amount = body.get("amount") or {}
        method = body.get("paymentMethod") or {}
        value, currency = amount.get("value"), amount.get("currency")
        token = method.get("storedPaymentMethodId", "")
        if not isinstance(value, int) or value <= 0 or not isinstance(currency, str) or not token:
            return _validation_error(422, "100", "Required field 'amount' or 'paymentMethod' is not provided.")
        scenario = scenario_of(str(token))
        refusal = _refusal_of(scenario)
        psp_reference = book.new_id()[:16].upper()
        charge = SandboxCharge(
            psp_reference,
            value,
            currency,
            str(token),
            key,
            str(body.get("reference", "")),
            captured=refusal is None,
            decline_code=refusal[1] if refusal else "",
        )
        book.record_charge(charge)
        refusals[psp_reference] = refusal
        answer = book.remember(key, fingerprint, 200, _payment_body(charge, refusal))
        if scenario is SandboxToken.TIMEOUT:
            # The payment is authorised, but the answer arrives after the client gave up.
            await book.hang()
        return answer

    async def list_payments(request: Request) -> Response:
        if not authorized(request):
            return _validation_error(401, "000", "HTTP Status Response - Unauthorized")
        found = book.find(reference=request.query_params.get("reference", ""))
        return JSONResponse({"payments": [_payment_body(c, refusals.get(c.charge_id)) for c in found]})

    async def refund_payment(request: Request) -> Response:
        if not authorized(request):
            return _validation_error(401, "000", "HTTP Status Response - Unauthorized")
        await book.simulate_latency(request)
        body = await json_body(request)
        key = request.headers.get("idempotency-key", "")
        fingerprint = fingerprint_of({**body, "payment": request.path_params["psp_reference"]})
        replayed = replay(key, fingerprint)
        if replayed is not None:
            return replayed
        charge = book.charges.get(request.path_params["psp_reference"])
        if charge is None or not charge.captured:
            return _validation_error(422, "167", "Original pspReference required for this operation")
        value = (body.get("amount") or {}).get("value")
        remaining = charge.amount_minor - charge.refunded_minor
        if charge.voided or not isinstance(value, int) or not 0 < value <= remaining:
            return _validation_error(422, "137", "Invalid amount specified")
        charge.refunded_minor += value
        answer = {
            "paymentPspReference": charge.charge_id,
            "pspReference": book.new_id()[:16].upper(),
            "reference": body.get("reference", ""),
            "amount": {"value": value, "currency": charge.currency},
            "status": "received",
        }
        return book.remember(key, fingerprint, 201, answer)

    async def cancel_payment(request: Request) -> Response:
        if not authorized(request):
            return _validation_error(401, "000", "HTTP Status Response - Unauthorized")
        charge = book.charges.get(request.path_params["psp_reference"])
        if charge is None or not charge.captured or charge.refunded_minor:
            return _validation_error(422, "167", "Original pspReference required for this operation")
        charge.voided = True
        answer = {
            "paymentPspReference": charge.charge_id,
            "pspReference": book.new_id()[:16].upper(),
            "status": "received",
        }
        return JSONResponse(answer, status_code=201)

    async def count_captures(request: Request) -> Response:
        reference = request.query_params.get("reference", "")
        return JSONResponse({"reference": reference, "captures": book.captures_by_key[reference]})

    return Starlette(
        routes=[
            Route("/payments", create_payment, methods=["POST"]),
            Route("/payments", list_payments, methods=["GET"]),
            Route("/payments/{psp_reference}/refunds", refund_payment, methods=["POST"]),
            Route("/payments/{psp_reference}/cancels", cancel_payment, methods=["POST"]),
            Route("/_test/captures", count_captures, methods=["GET"]),
            Route("/_test/outage", outage_switch(book), methods=["POST"]),
        ]
    )
