"""An Adyen Checkout API emulator: the subset Azotte uses, with Adyen's real request and response shapes.

`X-API-Key` (each key is its own company; its merchant account is set by the first call naming one), JSON
bodies under `/v71`, errors `{status, errorCode, message, errorType}` (401 security, 422 validation, 404),
idempotency (`Idempotency-Key`: the same request answers the first answer again; another body under the same
key is refused with 422), `/paymentMethods` with the shopper's stored methods, `/payments` (stores the card
with `storePaymentMethod` for the `shopperReference`; `resultCode` Authorised, Refused with `refusalReason` and
`refusalReasonCode`, RedirectShopper with an `action`), `/payments/{pspReference}/refunds` and `/reversals`.

Standard notifications are posted to the URLs made with `POST /_test/webhooks` (as in the Customer Area: it
answers the HMAC key, hex), each item signed with HMAC-SHA256 in `additionalData.hmacSignature`; a delivery is
retried until the receiver answers `[accepted]`.

Test cards (Drop-in's `encryptedCardNumber`, as Adyen's test environment accepts test values):
`test_visa_authorised`, `test_visa_insufficient_funds` (12), `test_visa_refused` (2), `test_visa_expired` (6),
`test_visa_3ds2` (on-session: RedirectShopper; ContAuth: Refused 38 "Authentication required").
Test hooks: `POST /_test/authenticate/{pspReference}` `{"result": "succeed"|"fail"}` (the shopper's page:
no key) authenticates a payment waiting for the shopper; `POST /_test/chargebacks/{pspReference}` (the
cardholder's bank) disputes an authorised payment (NOTIFICATION_OF_CHARGEBACK, then CHARGEBACK, with the
dispute's own pspReference); `POST /_test/disputes/{pspReference}` `{"outcome": "won"|"lost"}` closes a
dispute (CHARGEBACK_REVERSED / SECOND_CHARGEBACK);
`GET /_test/payments/{pspReference}` shows a payment, `GET /_test/notifications` the items notified.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import string
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

DELIVERY_ATTEMPTS = 6
SIGNED_FIELDS = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)
# encryptedCardNumber -> (result when the shopper is there, refusal code, refusal reason)
CARDS: dict[str, tuple[str, str, str]] = {
    "test_visa_authorised": ("Authorised", "", ""),
    "test_visa_insufficient_funds": ("Refused", "12", "Not enough balance"),
    "test_visa_refused": ("Refused", "2", "Refused"),
    "test_visa_expired": ("Refused", "6", "Expired Card"),
    "test_visa_3ds2": ("RedirectShopper", "", ""),
}


class AdyenApiError(Exception):
    """An error answer: `{status, errorCode, message, errorType}`."""

    def __init__(self, status: int, code: str, message: str, error_type: str = "validation"):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"status": status, "errorCode": code, "message": message, "errorType": error_type}


def sign_item(item: dict[str, Any], hmac_key: str) -> str:
    """Adyen's HMAC of a notification item: SHA-256 over its fields joined by ':', with the hex key's bytes."""
    values = {**item, "value": item["amount"]["value"], "currency": item["amount"]["currency"]}
    signing = ":".join(str(values.get(name, "")) for name in SIGNED_FIELDS)
    return base64.b64encode(hmac.new(bytes.fromhex(hmac_key), signing.encode(), hashlib.sha256).digest()).decode()


def new_reference() -> str:
    """A 16-character pspReference / stored method id, as Adyen's look."""
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))


@dataclass
class Company:
    """One API key's merchant account: stored methods, payments, idempotency, webhooks."""

    merchant_account: str = ""
    stored: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    webhooks: list[tuple[str, str]] = field(default_factory=list)
    notifications: list[dict[str, Any]] = field(default_factory=list)

    def payment(self, psp_reference: str) -> dict[str, Any]:
        if psp_reference not in self.payments:
            raise AdyenApiError(422, "167", "Original pspReference required for this operation")
        return self.payments[psp_reference]


class AdyenEmulator:
    """The companies by API key, and the notifications in flight."""

    def __init__(self, base_url: str = ""):
        self.base_url = base_url
        self.companies: dict[str, Company] = {}
        self._deliveries: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=10)

    def company(self, request: Request) -> Company:
        key = request.headers.get("x-api-key", "")
        if len(key) < 8:
            raise AdyenApiError(401, "000", "HTTP Status Response - Unauthorized", "security")
        return self.companies.setdefault(key, Company())

    def merchant(self, company: Company, body: dict[str, Any]) -> None:
        account = body.get("merchantAccount")
        if not isinstance(account, str) or not account:
            raise AdyenApiError(422, "14_005", "Required field 'merchantAccount' is not provided.")
        company.merchant_account = company.merchant_account or account
        if account != company.merchant_account:
            raise AdyenApiError(403, "901", "Invalid Merchant Account", "security")

    async def idempotent(
        self, request: Request, handler: Callable[..., Awaitable[dict[str, Any]]], **path: str
    ) -> Response:
        """Run a POST once per `Idempotency-Key`; the same key with another request is refused."""
        try:
            company = self.company(request)
            try:
                body = json.loads(await request.body())
            except ValueError as error:
                raise AdyenApiError(400, "702", "Structure of the request is not valid") from error
            key = request.headers.get("idempotency-key", "")
            asked = json.dumps([request.url.path, body], sort_keys=True)
            if key in company.answers:
                first, status, answer = company.answers[key]
                if first != asked:
                    raise AdyenApiError(422, "704", "request already processed or in progress")
                return JSONResponse(answer, status)
            try:
                self.merchant(company, body)
                status, answer = 200, await handler(company, body, **path)
            except AdyenApiError as error:
                status, answer = error.status, error.body
            if key:
                company.answers[key] = (asked, status, answer)
            return JSONResponse(answer, status)
        except AdyenApiError as error:
            return JSONResponse(error.body, error.status)

    async def payment_methods(self, company: Company, body: dict[str, Any]) -> dict[str, Any]:
        stored = company.stored.get(str(body.get("shopperReference", "")), [])
        cards = {"type": "scheme", "name": "Cards", "brands": ["visa", "mc", "amex"]}
        return {"paymentMethods": [cards], "storedPaymentMethods": stored}

    async def payments(self, company: Company, body: dict[str, Any]) -> dict[str, Any]:
        amount, method = body.get("amount") or {}, body.get("paymentMethod") or {}
        if not isinstance(amount.get("value"), int) or amount["value"] < 0 or not amount.get("currency"):
            raise AdyenApiError(422, "100", "Required field 'amount' is not provided or invalid.")
        if not body.get("reference"):
            raise AdyenApiError(422, "130", "Required field 'reference' is not provided.")
        shopper, contauth = str(body.get("shopperReference", "")), body.get("shopperInteraction") == "ContAuth"
        card = self._card(company, method, shopper)
        result, code, reason = CARDS[card["encryptedCardNumber"]]
        if result == "RedirectShopper" and contauth:
            # NOTE: the issuer wants the cardholder, who is not there: a soft decline (Adyen's refusal 38).
            result, code, reason = "Refused", "38", "Authentication required"
        payment = {
            "pspReference": new_reference(),
            "merchantReference": body["reference"],
            "amount": amount,
            "shopperReference": shopper,
            "shopperInteraction": body.get("shopperInteraction", "Ecommerce"),
            "recurringProcessingModel": body.get("recurringProcessingModel", ""),
            "card": card["encryptedCardNumber"],
            "resultCode": result,
            "refunded": 0,
        }
        company.payments[payment["pspReference"]] = payment
        answer: dict[str, Any] = {
            "pspReference": payment["pspReference"],
            "resultCode": result,
            "amount": amount,
            "merchantReference": body["reference"],
            "paymentMethod": {"brand": "visa", "type": "scheme"},
        }
        if body.get("storePaymentMethod") and shopper and result != "Refused":
            stored = self._store(company, shopper, card)
            answer["additionalData"] = {
                "recurring.recurringDetailReference": stored,
                "recurring.shopperReference": shopper,
            }
        if result == "Refused":
            answer.update(refusalReason=reason, refusalReasonCode=code)
            self._notify(company, payment, "AUTHORISATION", success=False, reason=reason)
        elif result == "RedirectShopper":
            answer["action"] = {
                "paymentMethodType": "scheme",
                "type": "redirect",
                "method": "GET",
                "url": f"{self.base_url}/_test/authenticate/{payment['pspReference']}",
            }
        else:
            self._authorised(company, payment)
        return answer

    def _card(self, company: Company, method: dict[str, Any], shopper: str) -> dict[str, Any]:
        stored_id = method.get("storedPaymentMethodId")
        if stored_id:
            found = [m for m in company.stored.get(shopper, []) if m["id"] == stored_id]
            if not found:
                raise AdyenApiError(422, "800", "Contract not found")
            return {"encryptedCardNumber": found[0]["card"]}
        number = method.get("encryptedCardNumber")
        if method.get("type") != "scheme" or number not in CARDS:
            raise AdyenApiError(422, "174", "Unable to decrypt data")
        return {"encryptedCardNumber": number}

    def _store(self, company: Company, shopper: str, card: dict[str, Any]) -> str:
        methods = company.stored.setdefault(shopper, [])
        for method in methods:
            if method["card"] == card["encryptedCardNumber"]:
                return str(method["id"])
        stored = {
            "id": new_reference(),
            "type": "scheme",
            "brand": "visa",
            "lastFour": "1111",
            "expiryMonth": "03",
            "expiryYear": "2030",
            "supportedShopperInteractions": ["Ecommerce", "ContAuth"],
            "supportedRecurringProcessingModels": ["Subscription", "CardOnFile", "UnscheduledCardOnFile"],
            "card": card["encryptedCardNumber"],
        }
        methods.append(stored)
        return str(stored["id"])

    def _authorised(self, company: Company, payment: dict[str, Any]) -> None:
        payment["resultCode"] = "Authorised"
        self._notify(company, payment, "AUTHORISATION", success=True)

    def open_dispute(self, psp_reference: str) -> dict[str, Any]:
        """The cardholder's bank disputes an authorised payment: the dispute has a pspReference of its own."""
        company = next((c for c in self.companies.values() if psp_reference in c.payments), None)
        if company is None or company.payments[psp_reference]["resultCode"] != "Authorised":
            raise AdyenApiError(422, "167", "Original pspReference required for this operation")
        payment = company.payments[psp_reference]
        dispute = {**payment, "pspReference": new_reference(), "originalReference": psp_reference}
        company.payments[dispute["pspReference"]] = {**dispute, "disputed": psp_reference}
        fraud = "Other Fraud-Card Absent Environment"
        self._notify(company, dispute, "NOTIFICATION_OF_CHARGEBACK", True, fraud, {"disputeStatus": "Pending"})
        self._notify(company, dispute, "CHARGEBACK", True, fraud, {"disputeStatus": "Pending"})
        return {"pspReference": dispute["pspReference"], "originalReference": psp_reference}

    async def refund(self, company: Company, body: dict[str, Any], reference: str) -> dict[str, Any]:
        payment = company.payment(reference)
        amount = body.get("amount") or {}
        left = payment["amount"]["value"] - payment["refunded"]
        if payment["resultCode"] != "Authorised" or not isinstance(amount.get("value"), int):
            raise AdyenApiError(422, "167", "Original pspReference required for this operation")
        if amount["value"] > left or amount.get("currency") != payment["amount"]["currency"]:
            raise AdyenApiError(422, "137", "Invalid amount specified")
        payment["refunded"] += amount["value"]
        return self._modified(company, payment, body, "REFUND", amount)

    async def reversal(self, company: Company, body: dict[str, Any], reference: str) -> dict[str, Any]:
        payment = company.payment(reference)
        left = {**payment["amount"], "value": payment["amount"]["value"] - payment["refunded"]}
        payment["refunded"] = payment["amount"]["value"]
        return self._modified(company, payment, body, "CANCEL_OR_REFUND", left)

    def _modified(
        self, company: Company, payment: dict[str, Any], body: dict[str, Any], code: str, amount: dict[str, Any]
    ) -> dict[str, Any]:
        modification = {
            "pspReference": new_reference(),
            "originalReference": payment["pspReference"],
            "merchantReference": body.get("reference", ""),
            "amount": amount,
        }
        self._notify(company, modification, code, success=True)
        return {
            "merchantAccount": company.merchant_account,
            "paymentPspReference": payment["pspReference"],
            "pspReference": modification["pspReference"],
            "reference": body.get("reference", ""),
            "status": "received",
            **({"amount": amount} if code == "REFUND" else {}),
        }

    def authenticate(self, psp_reference: str, succeed: bool) -> dict[str, Any]:
        """The shopper completes (or fails) 3-D Secure for a payment waiting for them."""
        company = next((c for c in self.companies.values() if psp_reference in c.payments), None)
        if company is None:
            raise AdyenApiError(404, "000", "Payment not found")
        payment = company.payments[psp_reference]
        if payment["resultCode"] not in ("RedirectShopper", "Refused") or payment["card"] != "test_visa_3ds2":
            raise AdyenApiError(422, "167", "The payment is not waiting for the shopper")
        if succeed:
            self._authorised(company, payment)
        else:
            payment["resultCode"] = "Refused"
            self._notify(company, payment, "AUTHORISATION", success=False, reason="3D Not Authenticated")
        return {"pspReference": psp_reference, "resultCode": payment["resultCode"]}

    def close_dispute(self, psp_reference: str, won: bool) -> dict[str, Any]:
        """The bank decides a dispute (its pspReference): reversed when won, a second chargeback when lost."""
        company = next((c for c in self.companies.values() if psp_reference in c.payments), None)
        if company is None or "disputed" not in company.payments[psp_reference]:
            raise AdyenApiError(404, "000", "Dispute not found")
        dispute = company.payments[psp_reference]
        status = "Won" if won else "Lost"
        code = "CHARGEBACK_REVERSED" if won else "SECOND_CHARGEBACK"
        self._notify(company, dispute, code, True, "", {"disputeStatus": status})
        return {"pspReference": psp_reference, "disputeStatus": status}

    def _notify(
        self,
        company: Company,
        about: dict[str, Any],
        event_code: str,
        success: bool,
        reason: str = "",
        extra: dict[str, str] | None = None,
    ) -> None:
        item: dict[str, Any] = {
            "eventCode": event_code,
            "success": "true" if success else "false",
            "eventDate": "2026-01-01T00:00:00+01:00",
            "merchantAccountCode": company.merchant_account,
            "pspReference": about["pspReference"],
            "originalReference": about.get("originalReference", ""),
            "merchantReference": about.get("merchantReference", ""),
            "amount": about["amount"],
            "reason": reason,
            "paymentMethod": "visa",
        }
        company.notifications.append(item)
        for url, hmac_key in company.webhooks:
            signed = {**item, "additionalData": {**(extra or {}), "hmacSignature": sign_item(item, hmac_key)}}
            payload = json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": signed}]})
            task = asyncio.get_running_loop().create_task(self._deliver(url, payload.encode()))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, url: str, payload: bytes) -> None:
        for attempt in range(DELIVERY_ATTEMPTS):
            try:
                response = await self._http.post(url, content=payload, headers={"Content-Type": "application/json"})
                if response.status_code == 200 and response.text == "[accepted]":
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2 * 2**attempt)


def create_app(base_url: str = "") -> FastAPI:
    """The emulator as an ASGI app; `base_url` is where it is reachable (for 3-D Secure `action` URLs)."""
    emulator = AdyenEmulator(base_url)
    app = FastAPI(title="Adyen Checkout API emulator", openapi_url=None)
    app.state.emulator = emulator

    def post(handler: Callable[..., Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[Response]]:
        async def route(request: Request) -> Response:
            path = {name: value for name, value in request.path_params.items() if name != "version"}
            return await emulator.idempotent(request, handler, **path)

        return route

    app.add_api_route("/{version}/paymentMethods", post(emulator.payment_methods), methods=["POST"])
    app.add_api_route("/{version}/payments", post(emulator.payments), methods=["POST"])
    app.add_api_route("/{version}/payments/{reference}/refunds", post(emulator.refund), methods=["POST"])
    app.add_api_route("/{version}/payments/{reference}/reversals", post(emulator.reversal), methods=["POST"])

    async def answered(request: Request, act: Callable[[dict[str, Any]], dict[str, Any]]) -> Response:
        try:
            body = await request.json() if await request.body() else {}
            return JSONResponse(act(body))
        except AdyenApiError as error:
            return JSONResponse(error.body, error.status)

    @app.post("/_test/webhooks")
    async def add_webhook(request: Request) -> Response:
        async def act(body: dict[str, Any]) -> dict[str, Any]:
            company = emulator.company(request)
            hmac_key = secrets.token_hex(32).upper()
            company.webhooks.append((str(body["url"]), hmac_key))
            return {"url": body["url"], "hmacKey": hmac_key}

        try:
            return JSONResponse(await act(await request.json()))
        except AdyenApiError as error:
            return JSONResponse(error.body, error.status)

    @app.post("/_test/authenticate/{reference}")
    async def authenticate(reference: str, request: Request) -> Response:
        return await answered(request, lambda body: emulator.authenticate(reference, body.get("result") != "fail"))

    @app.post("/_test/chargebacks/{reference}")
    async def open_dispute(reference: str, request: Request) -> Response:
        return await answered(request, lambda body: emulator.open_dispute(reference))

    @app.post("/_test/disputes/{reference}")
    async def close_dispute(reference: str, request: Request) -> Response:
        return await answered(request, lambda body: emulator.close_dispute(reference, body.get("outcome") == "won"))

    @app.get("/_test/notifications")
    async def notifications(request: Request) -> Response:
        try:
            return JSONResponse({"notificationItems": emulator.company(request).notifications})
        except AdyenApiError as error:
            return JSONResponse(error.body, error.status)

    @app.get("/_test/payments/{reference}")
    async def payment(reference: str, request: Request) -> Response:
        try:
            return JSONResponse(emulator.company(request).payment(reference))
        except AdyenApiError as error:
            return JSONResponse(error.body, error.status)

    return app
