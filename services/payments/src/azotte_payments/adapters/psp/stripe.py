"""Stripe through the official library's async client: customers, SetupIntents, PaymentIntents, refunds.

One adapter per tenant account (`StripeClient` with the account's secret key) pointed at `api_base`
(`AZOTTE_STRIPE_API_BASE`: Stripe itself by default, the emulator in tests). Every call carries an
`Idempotency-Key` derived from the charge attempt's key, so a retried attempt never charges twice.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import stripe

from azotte_payments.adapters.psp.stripe_like import normalize_stripe_decline
from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult
from azotte_payments.ports import PspChargeRequest

STRIPE_API_BASE = "https://api.stripe.com"


class StripePsp:
    """A tenant's Stripe account (implements `ports.PaymentServiceProvider`)."""

    def __init__(self, name: str, secret_key: str, api_base: str = STRIPE_API_BASE, timeout_s: float = 10.0):
        self._name = name
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            secret_key, base_addresses={"api": api_base}, http_client=self._http, max_network_retries=0
        )

    @property
    def name(self) -> str:
        """Routing name of this PSP: the tenant's account id."""
        return self._name

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """Save the method on a customer when it is not yet, then confirm a PaymentIntent with it."""
        started = time.perf_counter()
        try:
            customer, method = await self._saved_method(request)
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": request.amount_minor,
                    "currency": request.currency.lower(),
                    "customer": customer,
                    "payment_method": method,
                    "confirm": True,
                    "off_session": request.off_session,
                    "description": request.description,
                    "metadata": {"azotte_reference": request.reference, "azotte_attempt": request.idempotency_key},
                },
                {"idempotency_key": request.idempotency_key},
            )
        except stripe.CardError as error:
            return self._card_declined(error, _since(started))
        except stripe.StripeError as error:
            return PspChargeResult.declined(self._name, _failure(error), latency_ms=_since(started))
        return self._interpret(intent, _since(started))

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """Refund part or all of a PaymentIntent."""
        return await self._refund({"payment_intent": psp_reference, "amount": amount_minor}, idempotency_key)

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """A captured PaymentIntent cannot be cancelled at Stripe: it is refunded in full."""
        return await self._refund({"payment_intent": psp_reference}, idempotency_key)

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """The PaymentIntent an attempt created, found by its metadata; None when there is none."""
        found = await self._client.v1.payment_intents.search_async(
            {"query": f"metadata['azotte_attempt']:'{idempotency_key}'"}
        )
        if not found.data:
            return None
        return self._interpret(found.data[0], 0)

    async def aclose(self) -> None:
        """Close the HTTP connections."""
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def _saved_method(self, request: PspChargeRequest) -> tuple[str, str]:
        """(customer, payment method): a method not yet saved is saved on a new customer (SetupIntent)."""
        method = await self._client.v1.payment_methods.retrieve_async(request.payment_token)
        if method.customer:
            customer_id = method.customer if isinstance(method.customer, str) else method.customer.id
            return customer_id, method.id
        customer = await self._client.v1.customers.create_async(
            {"metadata": {"azotte_customer": request.customer_id}},
            {"idempotency_key": f"{request.idempotency_key}:customer"},
        )
        # NOTE: saved for off-session use, so renewals can charge it without the customer present.
        setup = await self._client.v1.setup_intents.create_async(
            {  # type: ignore[arg-type]
                "customer": customer.id,
                "payment_method": method.id,
                "confirm": True,
                "usage": "off_session",
                "payment_method_types": ["card"],
            },
            {"idempotency_key": f"{request.idempotency_key}:setup"},
        )
        saved = setup.payment_method
        return customer.id, saved if isinstance(saved, str) else method.id

    async def _refund(self, params: dict[str, Any], idempotency_key: str) -> PspOperationResult:
        try:
            refund = await self._client.v1.refunds.create_async(params, {"idempotency_key": idempotency_key})  # type: ignore[arg-type]
        except stripe.StripeError as error:
            retryable = isinstance(error, stripe.APIConnectionError | stripe.APIError | stripe.RateLimitError)
            code = error.code or type(error).__name__
            return PspOperationResult(self._name, succeeded=False, error_code=code, retryable=retryable)
        return PspOperationResult(self._name, succeeded=refund.status != "failed", psp_reference=refund.id)

    def _interpret(self, intent: Any, latency_ms: int) -> PspChargeResult:
        match intent.status:
            case "succeeded":
                return PspChargeResult.approved(self._name, intent.id, latency_ms)
            case "requires_action":
                # NOTE: 3-D Secure: the customer must authenticate (the intent's next_action) before it captures.
                decline = Decline(DeclineReason.AUTHENTICATION_REQUIRED, "requires_action")
                return PspChargeResult.declined(self._name, decline, intent.id, latency_ms, intent.client_secret or "")
            case _:
                error: dict[str, Any] = intent.get("last_payment_error") or {}
                reason = normalize_stripe_decline(error.get("code", ""), error.get("decline_code", ""))
                decline = Decline(reason, error.get("decline_code") or error.get("code") or intent.status)
                return PspChargeResult.declined(self._name, decline, intent.id, latency_ms)

    def _card_declined(self, error: stripe.CardError, latency_ms: int) -> PspChargeResult:
        json_body: dict[str, Any] = error.json_body or {}  # type: ignore[assignment]
        body: dict[str, Any] = json_body.get("error", {})
        code, decline_code = body.get("code", ""), body.get("decline_code", "")
        intent = body.get("payment_intent") or {}
        reason = normalize_stripe_decline(code, decline_code)
        # NOTE: off-session, the customer authenticates later on the tenant's page, with the intent's client secret.
        secret = intent.get("client_secret", "") if reason is DeclineReason.AUTHENTICATION_REQUIRED else ""
        decline = Decline(reason, decline_code or code)
        return PspChargeResult.declined(self._name, decline, intent.get("id"), latency_ms, secret)


def _failure(error: stripe.StripeError) -> Decline:
    """A Stripe error that is not a card's answer: ours to retry elsewhere, or a request Stripe refuses."""
    if isinstance(error, stripe.APIConnectionError) and isinstance(error.__cause__, httpx.TimeoutException):
        # NOTE: a timeout is not a decline: money may have moved, the charge must be reconciled.
        return Decline(DeclineReason.TIMEOUT, "timeout")
    if isinstance(error, stripe.APIConnectionError):
        return Decline(DeclineReason.PSP_UNAVAILABLE, type(error).__name__)
    if isinstance(error, stripe.AuthenticationError | stripe.PermissionError):
        # NOTE: bad credentials are the account's configuration problem: fail over, let the breaker open.
        return Decline(DeclineReason.PSP_UNAVAILABLE, f"http_{error.http_status}")
    if isinstance(error, stripe.APIError | stripe.RateLimitError):
        return Decline(DeclineReason.PROCESSING_ERROR, f"http_{error.http_status}")
    return Decline(DeclineReason.INVALID_REQUEST, error.code or type(error).__name__)


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
