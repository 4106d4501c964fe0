"""A Stripe emulator: the subset of Stripe's API Azotte uses, with its real request and response shapes.

Form-encoded bodies, `Authorization: Bearer sk_test_…` (each secret key is its own account), error objects
`{"error": {"type", "code", "decline_code", "message"}}` with 401/400/402/404, idempotency (same key and
parameters: the first answer again, `Idempotent-Replayed: true`; other parameters: 400 `idempotency_error`),
Stripe's test cards (`stripe_cards.py`), and webhooks signed with `Stripe-Signature` to the endpoints made with
`POST /v1/webhook_endpoints`.

Objects: customers, payment_methods (from a test token or by a test PaymentMethod id, which is copied as Stripe
does), setup_intents, payment_intents (with `next_action` when the card asks for 3-D Secure), refunds, disputes
(evidence `winning_evidence` / `losing_evidence` closes one, as in Stripe's test mode).

Test hooks: `POST /_test/authenticate/{payment_intent}` `{"result": "succeed"|"fail"}` (no key: the customer's
page, where `next_action.redirect_to_url.url` points) completes or fails 3-D Secure, also for an off-session
payment that failed with `authentication_required`; `GET /_test/events` lists the account's events.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from azotte_payments.sandbox_psp.stripe_cards import Card, CardBehaviour, card_of_token
from azotte_payments.sandbox_psp.stripe_state import (
    DISPUTE_FEE_MINOR,
    Account,
    StoredResponse,
    StripeApiError,
    card_error,
    invalid_request,
    new_id,
    sign,
)

KEY = re.compile(r"^(sk|rk)_test_[A-Za-z0-9_]{4,}$")
DELIVERY_ATTEMPTS = 6

Handler = Callable[[Account, dict[str, Any], str], Awaitable[dict[str, Any]]]


def decode_form(text: str) -> dict[str, Any]:
    """Stripe's form encoding (`metadata[k]=v`, `list[0]=x`) as nested dicts."""
    decoded: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        parts = re.findall(r"[^\[\]]+", key)
        node = decoded
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return decoded


def _truthy(value: Any) -> bool:
    return str(value).lower() == "true"


class StripeEmulator:
    """The accounts, and the webhook deliveries in flight."""

    def __init__(self, base_url: str = ""):
        self.accounts: dict[str, Account] = {}
        self.base_url = base_url
        self._deliveries: set[asyncio.Task[None]] = set()
        self._http = httpx.AsyncClient(timeout=10)

    def account(self, request: Request) -> Account:
        """The account of the request's secret key (401 like Stripe without a valid test key)."""
        authorization = request.headers.get("authorization", "")
        key = authorization.removeprefix("Bearer ").strip()
        if not authorization.startswith("Bearer ") or not KEY.match(key):
            masked = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
            raise StripeApiError(
                401, {"type": "invalid_request_error", "message": f"Invalid API Key provided: {masked}"}
            )
        return self.accounts.setdefault(key, Account())

    async def idempotent(self, request: Request, handler: Handler, **path: str) -> Response:
        """Run a POST once per `Idempotency-Key`: the same parameters replay the answer, others are refused."""
        try:
            account = self.account(request)
            params = decode_form((await request.body()).decode())
            key = request.headers.get("idempotency-key", "")
            asked = json.dumps([request.url.path, params], sort_keys=True)
            stored = account.idempotent.get(key) if key else None
            if stored is not None:
                if stored.request != asked:
                    raise StripeApiError(
                        400,
                        {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters "
                            f"they were first used with. Try using a key other than '{key}' if you meant to "
                            "execute a different request.",
                        },
                    )
                return JSONResponse(stored.body, stored.status_code, headers={"Idempotent-Replayed": "true"})
            try:
                status_code, body = 200, await handler(account, {**params, **path}, key)
            except StripeApiError as error:
                status_code, body = error.status_code, {"error": error.error}
            if key and status_code != 401:
                account.idempotent[key] = StoredResponse(asked, status_code, body)
            return JSONResponse(body, status_code)
        except StripeApiError as error:
            return JSONResponse({"error": error.error}, error.status_code)

    def emit(self, account: Account, event_type: str, obj: dict[str, Any], idempotency_key: str = "") -> None:
        """Record an event and deliver it, signed, to the account's endpoints in the background."""
        event = account.event(event_type, obj, idempotency_key)
        payload = json.dumps(event).encode()
        for url, secret in account.endpoints_for(event_type):
            task = asyncio.get_running_loop().create_task(self._deliver(url, secret, payload))
            self._deliveries.add(task)
            task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, url: str, secret: str, payload: bytes) -> None:
        for attempt in range(DELIVERY_ATTEMPTS):
            headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload, secret, int(time.time()))}
            try:
                response = await self._http.post(url, content=payload, headers=headers)
                if response.status_code < 300:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2 * 2**attempt)

    # --- objects ---

    async def create_customer(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        return account.add(
            {
                "id": new_id("cus"),
                "object": "customer",
                "email": params.get("email"),
                "metadata": params.get("metadata", {}),
                "invoice_settings": {"default_payment_method": None},
            }
        )

    async def create_payment_method(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        token = params.get("card", {}).get("token", "")
        card = card_of_token(token)
        if params.get("type") != "card" or card is None:
            raise invalid_request(f"No such token: '{token}'", "card[token]", "resource_missing")
        return account.new_payment_method(card)

    def resolve_method(self, account: Account, pm_id: str) -> tuple[dict[str, Any], Card]:
        """A stored method; a test PaymentMethod id (`pm_card_visa`) becomes a new method, as at Stripe."""
        card = card_of_token(pm_id)
        if card is not None:
            pm = account.new_payment_method(card)
            return pm, card
        return account.payment_method(pm_id)

    async def create_setup_intent(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        customer = params.get("customer")
        if customer:
            account.get(customer, "customer")
        pm, _ = self.resolve_method(account, params.get("payment_method", ""))
        confirmed = _truthy(params.get("confirm"))
        if confirmed and customer:
            pm["customer"] = customer
        setup = account.add(
            {
                "id": new_id("seti"),
                "object": "setup_intent",
                "customer": customer,
                "payment_method": pm["id"],
                "usage": params.get("usage", "off_session"),
                "status": "succeeded" if confirmed else "requires_confirmation",
                "client_secret": f"seti_secret_{secrets.token_hex(8)}",
                "next_action": None,
                "last_setup_error": None,
            }
        )
        if confirmed:
            self.emit(account, "setup_intent.succeeded", setup, key)
        return setup

    async def create_payment_intent(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        amount = params.get("amount", "")
        if not str(amount).isdigit() or int(amount) < 1:
            raise invalid_request(
                "This value must be greater than or equal to 1.", "amount", "parameter_invalid_integer"
            )
        customer = params.get("customer")
        if customer:
            account.get(customer, "customer")
        pm, card = self.resolve_method(account, params.get("payment_method", ""))
        if pm["customer"] and pm["customer"] != customer:
            raise invalid_request(
                "The provided PaymentMethod was previously attached to a Customer, so it must be used with that "
                "Customer.",
                "payment_method",
            )
        intent = account.add(
            {
                "id": new_id("pi"),
                "object": "payment_intent",
                "amount": int(amount),
                "amount_received": 0,
                "currency": params.get("currency", ""),
                "customer": customer,
                "payment_method": pm["id"],
                "description": params.get("description"),
                "metadata": params.get("metadata", {}),
                "status": "requires_confirmation",
                "client_secret": "",
                "next_action": None,
                "last_payment_error": None,
                "latest_charge": None,
            }
        )
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(8)}"
        if _truthy(params.get("confirm")):
            self._confirm(account, intent, card, off_session=_truthy(params.get("off_session")), key=key)
        return intent

    async def confirm_payment_intent(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        intent = account.get(params["intent"], "payment_intent")
        if intent["status"] not in ("requires_confirmation", "requires_payment_method"):
            raise invalid_request(
                f"This PaymentIntent's status is {intent['status']}.", code="payment_intent_unexpected_state"
            )
        if params.get("payment_method"):
            pm, _ = self.resolve_method(account, params["payment_method"])
            intent["payment_method"] = pm["id"]
        _, card = account.payment_method(intent["payment_method"])
        self._confirm(account, intent, card, off_session=_truthy(params.get("off_session")), key=key)
        return intent

    def _confirm(self, account: Account, intent: dict[str, Any], card: Card, *, off_session: bool, key: str) -> None:
        match card.behaviour:
            case CardBehaviour.DECLINE:
                self._fail(account, intent, card, key)
                raise card_error(card, intent["payment_method"], intent)
            case CardBehaviour.AUTHENTICATE if off_session:
                # NOTE: the issuer wants the cardholder, who is not there: Stripe declines the off-session payment.
                needs = Card(
                    card.brand,
                    card.last4,
                    card.behaviour,
                    "authentication_required",
                    "authentication_required",
                    "Your card was declined. This transaction requires authentication.",
                )
                self._fail(account, intent, needs, key)
                raise card_error(needs, intent["payment_method"], intent)
            case CardBehaviour.AUTHENTICATE:
                intent["status"] = "requires_action"
                url = f"{self.base_url}/_test/authenticate/{intent['id']}"
                intent["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {"url": url, "return_url": None}}
                self.emit(account, "payment_intent.requires_action", intent, key)
            case _:
                self._succeed(account, intent, key)

    def _fail(self, account: Account, intent: dict[str, Any], card: Card, key: str) -> None:
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = {
            "type": "card_error",
            "code": card.code,
            "decline_code": card.decline_code,
            "message": card.message,
        }
        self.emit(account, "payment_intent.payment_failed", intent, key)

    def _succeed(self, account: Account, intent: dict[str, Any], key: str = "") -> None:
        charge = account.add(
            {
                "id": new_id("ch"),
                "object": "charge",
                "amount": intent["amount"],
                "amount_refunded": 0,
                "currency": intent["currency"],
                "payment_intent": intent["id"],
                "payment_method": intent["payment_method"],
                "customer": intent["customer"],
                "paid": True,
                "captured": True,
                "refunded": False,
                "disputed": False,
                "status": "succeeded",
            }
        )
        intent.update(
            status="succeeded", amount_received=intent["amount"], latest_charge=charge["id"], next_action=None
        )
        self.emit(account, "payment_intent.succeeded", intent, key)
        if account.cards[intent["payment_method"]].behaviour is CardBehaviour.DISPUTE:
            self._open_dispute(account, charge)

    def _open_dispute(self, account: Account, charge: dict[str, Any]) -> None:
        charge["disputed"] = True
        dispute = account.add(
            {
                "id": new_id("dp"),
                "object": "dispute",
                "amount": charge["amount"],
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": charge["payment_intent"],
                "reason": "fraudulent",
                "status": "needs_response",
                "balance_transactions": [
                    {
                        "id": new_id("txn"),
                        "object": "balance_transaction",
                        "amount": -charge["amount"],
                        "fee": DISPUTE_FEE_MINOR,
                        "currency": charge["currency"],
                        "type": "adjustment",
                    }
                ],
            }
        )
        self.emit(account, "charge.dispute.created", dispute)

    async def update_dispute(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        dispute = account.get(params["dispute"], "dispute")
        evidence = params.get("evidence", {}).get("uncategorized_text", "")
        if evidence in ("winning_evidence", "losing_evidence") and dispute["status"] == "needs_response":
            dispute["status"] = "won" if evidence == "winning_evidence" else "lost"
            self.emit(account, "charge.dispute.closed", dispute, key)
        return dispute

    async def create_refund(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        intent = account.get(params.get("payment_intent", ""), "payment_intent")
        if intent["status"] != "succeeded":
            raise invalid_request(
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                "payment_intent",
                "charge_not_refundable",
            )
        charge = account.get(intent["latest_charge"], "charge")
        left = charge["amount"] - charge["amount_refunded"]
        amount = int(params.get("amount") or left)
        if amount > left:
            raise invalid_request(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                "amount",
                "amount_too_large",
            )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        refund = account.add(
            {
                "id": new_id("re"),
                "object": "refund",
                "amount": amount,
                "currency": charge["currency"],
                "charge": charge["id"],
                "payment_intent": intent["id"],
                "status": "succeeded",
            }
        )
        self.emit(account, "charge.refunded", charge, key)
        return refund

    async def create_webhook_endpoint(self, account: Account, params: dict[str, Any], key: str) -> dict[str, Any]:
        if not params.get("url"):
            raise invalid_request("Missing required param: url.", "url", "parameter_missing")
        events = list(params.get("enabled_events", {}).values()) or ["*"]
        endpoint = account.add(
            {"id": new_id("we"), "object": "webhook_endpoint", "url": params["url"], "enabled_events": events}
        )
        secret = f"whsec_{secrets.token_urlsafe(24)}"
        account.endpoints[endpoint["id"]] = endpoint
        account.secrets[endpoint["id"]] = secret
        return {**endpoint, "secret": secret}

    def authenticate(self, intent_id: str, succeed: bool) -> dict[str, Any]:
        """The customer completes (or fails) 3-D Secure for a payment waiting for them (no key: a public page)."""
        account = next((a for a in self.accounts.values() if intent_id in a.objects), None)
        if account is None:
            raise invalid_request(f"No such payment_intent: '{intent_id}'", "id", "resource_missing", 404)
        intent = account.get(intent_id, "payment_intent")
        if intent["status"] not in ("requires_action", "requires_payment_method"):
            raise invalid_request(f"This PaymentIntent's status is {intent['status']}.")
        if succeed:
            self._succeed(account, intent)
        else:
            intent["next_action"] = None
            failed = Card(
                "visa",
                "0000",
                CardBehaviour.DECLINE,
                "payment_intent_authentication_failure",
                "",
                "The provided PaymentMethod has failed authentication.",
            )
            self._fail(account, intent, failed, "")
        return intent

    def search_payment_intents(self, account: Account, query: str) -> dict[str, Any]:
        """`metadata['key']:'value'` (the one search clause Azotte uses)."""
        match = re.fullmatch(r"metadata\['([^']+)'\]:'([^']*)'", query.strip())
        if match is None:
            raise invalid_request("The search query is not supported by the emulator.", "query")
        name, value = match.groups()
        data = [
            obj
            for obj in account.objects.values()
            if obj["object"] == "payment_intent" and obj.get("metadata", {}).get(name) == value
        ]
        return {"object": "search_result", "url": "/v1/payment_intents/search", "has_more": False, "data": data}


def create_app(base_url: str = "") -> FastAPI:
    """The emulator as an ASGI app; `base_url` is where it is reachable (for `next_action` URLs)."""
    emulator = StripeEmulator(base_url)
    app = FastAPI(title="Stripe emulator", openapi_url=None)
    app.state.emulator = emulator

    def read(handler: Callable[[Account, Request], Awaitable[dict[str, Any]]]) -> Callable[..., Awaitable[Response]]:
        async def route(request: Request) -> Response:
            try:
                return JSONResponse(await handler(emulator.account(request), request))
            except StripeApiError as error:
                return JSONResponse({"error": error.error}, error.status_code)

        return route

    def post(handler: Handler, *names: str) -> Callable[..., Awaitable[Response]]:
        async def route(request: Request) -> Response:
            return await emulator.idempotent(request, handler, **{n: request.path_params[n] for n in names})

        return route

    async def get_payment_method(account: Account, request: Request) -> dict[str, Any]:
        return emulator.resolve_method(account, request.path_params["pm"])[0]

    async def get_payment_intent(account: Account, request: Request) -> dict[str, Any]:
        return account.get(request.path_params["intent"], "payment_intent")

    async def get_charge(account: Account, request: Request) -> dict[str, Any]:
        return account.get(request.path_params["charge"], "charge")

    async def search(account: Account, request: Request) -> dict[str, Any]:
        return emulator.search_payment_intents(account, request.query_params.get("query", ""))

    app.add_api_route("/v1/customers", post(emulator.create_customer), methods=["POST"])
    app.add_api_route("/v1/payment_methods", post(emulator.create_payment_method), methods=["POST"])
    app.add_api_route("/v1/payment_methods/{pm}", read(get_payment_method), methods=["GET"])
    app.add_api_route("/v1/setup_intents", post(emulator.create_setup_intent), methods=["POST"])
    app.add_api_route("/v1/payment_intents", post(emulator.create_payment_intent), methods=["POST"])
    app.add_api_route("/v1/payment_intents/search", read(search), methods=["GET"])
    app.add_api_route("/v1/payment_intents/{intent}", read(get_payment_intent), methods=["GET"])
    app.add_api_route(
        "/v1/payment_intents/{intent}/confirm", post(emulator.confirm_payment_intent, "intent"), methods=["POST"]
    )
    app.add_api_route("/v1/charges/{charge}", read(get_charge), methods=["GET"])
    app.add_api_route("/v1/refunds", post(emulator.create_refund), methods=["POST"])
    app.add_api_route("/v1/disputes/{dispute}", post(emulator.update_dispute, "dispute"), methods=["POST"])
    app.add_api_route("/v1/webhook_endpoints", post(emulator.create_webhook_endpoint), methods=["POST"])

    @app.post("/_test/authenticate/{intent}")
    async def authenticate(intent: str, request: Request) -> Response:
        try:
            body = await request.json() if await request.body() else {}
            return JSONResponse(emulator.authenticate(intent, body.get("result", "succeed") == "succeed"))
        except StripeApiError as error:
            return JSONResponse({"error": error.error}, error.status_code)

    @app.get("/_test/events")
    async def events(request: Request) -> Response:
        try:
            return JSONResponse({"data": emulator.account(request).events})
        except StripeApiError as error:
            return JSONResponse({"error": error.error}, error.status_code)

    return app
