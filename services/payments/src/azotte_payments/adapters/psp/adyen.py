"""Adyen's Checkout API through the official `Adyen` library: stored card payments, ContAuth renewals, refunds.

One adapter per tenant account (API key, merchant account). The library is synchronous: each call runs in a
worker thread. A sandbox account's API is at `checkout_url` (`AZOTTE_ADYEN_CHECKOUT_URL`: Adyen's test
Checkout API by default, the emulator in tests); a live one at its `live_url_prefix` endpoint.

The Azotte payment method's token is what Adyen's Drop-in gives for a new card (`state.data.paymentMethod`,
as JSON text: its fields are encrypted in the browser). Each card is its own shopper at Adyen
(`shopperReference`: the customer and the token's fingerprint), so its stored payment method is found again
by `/paymentMethods`: the first payment stores it (`storePaymentMethod`, `recurringProcessingModel:
Subscription`), later ones use its `storedPaymentMethodId` — off-session with `shopperInteraction: ContAuth`.
Every call carries an `Idempotency-Key` derived from the attempt's key.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

import requests
from Adyen.client import AdyenClient  # type: ignore[import-untyped]
from Adyen.exceptions import (  # type: ignore[import-untyped]
    AdyenAPIAuthenticationError,
    AdyenAPICommunicationError,
    AdyenAPIInvalidPermission,
    AdyenAPIUnprocessableEntity,
    AdyenAPIValidationError,
    AdyenError,
)
from Adyen.services.checkout import ModificationsApi, PaymentsApi  # type: ignore[import-untyped]

from azotte_payments.adapters.psp.adyen_like import normalize_adyen_refusal
from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult
from azotte_payments.errors import PspUnavailable
from azotte_payments.ports import PspChargeRequest

ADYEN_TEST_CHECKOUT_URL = "https://checkout-test.adyen.com"
# Results where the shopper must act (3-D Secure) before Adyen authorises.
SHOPPER_ACTIONS = frozenset({"RedirectShopper", "IdentifyShopper", "ChallengeShopper", "PresentToShopper"})


def shopper_reference(customer_id: str, token: str) -> str:
    """The Adyen shopper of one customer's card: the customer id and the token's fingerprint."""
    return f"{customer_id}.{hashlib.sha256(token.encode()).hexdigest()[:16]}"


class NotADropInMethod(Exception):
    """The token is neither a Drop-in `paymentMethod` nor has a stored method: the charge is an invalid request."""


def card_of(token: str) -> dict[str, Any]:
    """Drop-in's `paymentMethod` object a token holds (NotADropInMethod when it holds none)."""
    try:
        card = json.loads(token)
    except ValueError:
        card = None
    if not isinstance(card, dict) or not card.get("type"):
        raise NotADropInMethod("the payment method's token is not a Drop-in paymentMethod object")
    return card


class AdyenPsp:
    """A tenant's Adyen account (implements `ports.PaymentServiceProvider`)."""

    def __init__(
        self,
        name: str,
        api_key: str,
        merchant_account: str,
        *,
        checkout_url: str = ADYEN_TEST_CHECKOUT_URL,
        live_url_prefix: str = "",
        return_url: str = "",
        timeout_s: float = 10.0,
    ):
        self._name = name
        self._merchant_account = merchant_account
        self._return_url = return_url
        client = AdyenClient(
            xapikey=api_key,
            platform="live" if live_url_prefix else "test",
            live_endpoint_prefix=live_url_prefix or None,
            http_timeout=timeout_s,
        )
        self._payments = PaymentsApi(client)
        self._modifications = ModificationsApi(client)
        if not live_url_prefix:
            # NOTE: a live account keeps the library's URL, which it rewrites to the account's live endpoint.
            version = str(self._payments.baseUrl).rsplit("/", 1)[1]
            self._payments.baseUrl = self._modifications.baseUrl = f"{checkout_url.rstrip('/')}/{version}"

    @property
    def name(self) -> str:
        """Routing name of this PSP: the tenant's account id."""
        return self._name

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """Pay with the card's stored method, or with the card itself and store it."""
        started = time.perf_counter()
        shopper = shopper_reference(request.customer_id, request.payment_token)
        try:
            stored = await self._stored_method(shopper, request.idempotency_key)
            method = {"type": "scheme", "storedPaymentMethodId": stored} if stored else card_of(request.payment_token)
            body: dict[str, Any] = {
                "merchantAccount": self._merchant_account,
                "reference": request.idempotency_key,
                "merchantOrderReference": request.reference,
                "amount": {"value": request.amount_minor, "currency": request.currency.upper()},
                "paymentMethod": method,
                "shopperReference": shopper,
                "recurringProcessingModel": "Subscription",
                # NOTE: Azotte renews without the customer: ContAuth, with the method the first payment stored.
                "shopperInteraction": "ContAuth" if request.off_session else "Ecommerce",
            }
            if not stored:
                body["storePaymentMethod"] = True
            if self._return_url:
                body["returnUrl"] = self._return_url
            answer = await self._call(self._payments.payments, body, idempotency_key=request.idempotency_key)
        except NotADropInMethod:
            decline = Decline(DeclineReason.INVALID_REQUEST, "invalid_payment_method")
            return PspChargeResult.declined(self._name, decline, latency_ms=_since(started))
        except (AdyenError, requests.RequestException) as error:
            return PspChargeResult.declined(self._name, _failure(error), latency_ms=_since(started))
        return self._interpret(answer, _since(started))

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """`/payments/{pspReference}/refunds` for part or all of the payment."""
        body = {
            "merchantAccount": self._merchant_account,
            "reference": idempotency_key,
            "amount": {"value": amount_minor, "currency": currency.upper()},
        }
        return await self._modify(self._modifications.refund_captured_payment, body, psp_reference, idempotency_key)

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """`/payments/{pspReference}/reversals`: cancelled before capture, refunded after."""
        body = {"merchantAccount": self._merchant_account, "reference": idempotency_key}
        return await self._modify(self._modifications.refund_or_cancel_payment, body, psp_reference, idempotency_key)

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """Adyen's Checkout API cannot find a payment by reference: the attempt stays unknown (raises)."""
        # NOTE: never None ("no payment"): that would let a timed-out attempt be charged again elsewhere.
        raise PspUnavailable(f"Adyen cannot look up the payment of {idempotency_key}; its notification will tell")

    async def aclose(self) -> None:
        """Nothing to close: the library opens a connection per call."""

    async def _stored_method(self, shopper: str, idempotency_key: str) -> str:
        """The id of the method stored for the shopper ('' when none is)."""
        body = {"merchantAccount": self._merchant_account, "shopperReference": shopper}
        answer = await self._call(self._payments.payment_methods, body, idempotency_key=f"{idempotency_key}:methods")
        stored: list[dict[str, Any]] = answer.get("storedPaymentMethods") or []
        return str(stored[0]["id"]) if stored else ""

    async def _modify(
        self, call: Callable[..., Any], body: dict[str, Any], psp_reference: str, idempotency_key: str
    ) -> PspOperationResult:
        try:
            answer = await self._call(call, body, psp_reference, idempotency_key=idempotency_key)
        except (AdyenError, requests.RequestException) as error:
            retryable = isinstance(error, requests.RequestException) or _status(error) >= 500
            code = str(getattr(error, "error_code", "") or type(error).__name__)
            return PspOperationResult(self._name, succeeded=False, error_code=code, retryable=retryable)
        succeeded = answer.get("status") == "received"
        return PspOperationResult(self._name, succeeded=succeeded, psp_reference=answer.get("pspReference"))

    @staticmethod
    async def _call(call: Callable[..., Any], *args: Any, idempotency_key: str) -> dict[str, Any]:
        result = await asyncio.to_thread(call, *args, idempotency_key=idempotency_key)
        message: dict[str, Any] = result.message or {}
        return message

    def _interpret(self, payment: dict[str, Any], latency_ms: int) -> PspChargeResult:
        result_code = str(payment.get("resultCode", ""))
        psp_reference = payment.get("pspReference")
        if result_code == "Authorised":
            return PspChargeResult.approved(self._name, str(psp_reference), latency_ms)
        if result_code in SHOPPER_ACTIONS:
            # NOTE: 3-D Secure: the tenant's page hands Drop-in this action (`handleAction`) to authenticate.
            action = json.dumps(payment.get("action") or {}, separators=(",", ":"))
            decline = Decline(DeclineReason.AUTHENTICATION_REQUIRED, result_code)
            return PspChargeResult.declined(self._name, decline, psp_reference, latency_ms, action)
        code = str(payment.get("refusalReasonCode", ""))
        raw = str((payment.get("additionalData") or {}).get("refusalReasonRaw", ""))
        decline = Decline(normalize_adyen_refusal(result_code, code, raw), f"{result_code}:{code}")
        return PspChargeResult.declined(self._name, decline, psp_reference, latency_ms)


def _failure(error: AdyenError | requests.RequestException) -> Decline:
    """A call that got no payment result: ours to retry elsewhere, or a request Adyen refuses."""
    if isinstance(error, requests.Timeout):
        # NOTE: a timeout is not a decline: money may have moved, the charge must be reconciled.
        return Decline(DeclineReason.TIMEOUT, "timeout")
    if isinstance(error, requests.RequestException):
        return Decline(DeclineReason.PSP_UNAVAILABLE, type(error).__name__)
    if isinstance(error, AdyenAPIAuthenticationError | AdyenAPIInvalidPermission):
        # NOTE: bad credentials are the account's configuration problem: fail over, let the breaker open.
        return Decline(DeclineReason.PSP_UNAVAILABLE, f"http_{_status(error)}")
    if isinstance(error, AdyenAPIValidationError | AdyenAPIUnprocessableEntity):
        return Decline(DeclineReason.INVALID_REQUEST, str(error.error_code or f"http_{_status(error)}"))
    if isinstance(error, AdyenAPICommunicationError) and _status(error) == 404:
        return Decline(DeclineReason.PSP_UNAVAILABLE, "http_404")
    return Decline(DeclineReason.PROCESSING_ERROR, f"http_{_status(error)}")


def _status(error: AdyenError) -> int:
    status = getattr(error, "status_code", 0)
    return status if isinstance(status, int) else 0


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
