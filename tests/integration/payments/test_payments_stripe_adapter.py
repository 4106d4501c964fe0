"""The Stripe adapter (official library, async client) against the Stripe emulator over HTTP."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
import stripe

from azotte_payments.adapters.psp.stripe import StripePsp
from azotte_payments.domain.declines import DeclineReason, Outcome
from azotte_payments.ports import PspChargeRequest
from azotte_payments.sandbox_psp import stripe_api
from tests.integration.payments.payments_harness import serving


@dataclass
class Emulator:
    url: str
    secret_key: str

    def client(self) -> stripe.StripeClient:
        http = stripe.HTTPXClient()
        return stripe.StripeClient(self.secret_key, base_addresses={"api": self.url}, http_client=http)

    def adapter(self) -> StripePsp:
        return StripePsp("stripe-eu", self.secret_key, self.url, timeout_s=5)

    async def saved_card(self, token: str = "tok_visa") -> str:
        """A PaymentMethod as Stripe.js would create it in the customer's browser."""
        method = await self.client().v1.payment_methods.create_async({"type": "card", "card": {"token": token}})
        return method.id

    async def intent(self, intent_id: str | None) -> stripe.PaymentIntent:
        return await self.client().v1.payment_intents.retrieve_async(intent_id or "")

    async def http(self, method: str, path: str, **options: object) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.secret_key}", **options.pop("headers", {})}  # type: ignore[dict-item]
        async with httpx.AsyncClient(base_url=self.url) as client:
            return await client.request(method, path, headers=headers, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
async def emulator() -> AsyncIterator[Emulator]:
    async with serving(stripe_api.create_app()) as url:
        yield Emulator(url, f"sk_test_{uuid.uuid4().hex}")


def request(token: str, *, off_session: bool = False, key: str | None = None, amount: int = 1099) -> PspChargeRequest:
    key = key or f"ch_{uuid.uuid4().hex}:stripe-eu"
    return PspChargeRequest(key, amount, "EUR", token, key.split(":")[0], "Pro monthly", "cus_a", off_session)


async def test_a_checkout_saves_the_method_and_a_renewal_charges_it_off_session(emulator: Emulator) -> None:
    adapter, method = emulator.adapter(), await emulator.saved_card()
    checkout = await adapter.charge(request(method))
    renewal = await adapter.charge(request(method, off_session=True))
    await adapter.aclose()

    assert checkout.outcome is Outcome.APPROVED and renewal.outcome is Outcome.APPROVED
    first, second = await emulator.intent(checkout.psp_reference), await emulator.intent(renewal.psp_reference)
    assert first.customer and first.customer == second.customer  # saved once, charged again off-session
    assert (await emulator.client().v1.payment_methods.retrieve_async(method)).customer == first.customer
    assert (first.status, first.amount, first.currency) == ("succeeded", 1099, "eur")


async def test_a_retried_attempt_charges_once(emulator: Emulator) -> None:
    adapter, method, key = emulator.adapter(), await emulator.saved_card(), f"ch_{uuid.uuid4().hex}:stripe-eu"
    first = await adapter.charge(request(method, key=key))
    again = await adapter.charge(request(method, key=key))
    found = await adapter.lookup(key)
    await adapter.aclose()

    assert first.psp_reference == again.psp_reference == (found.psp_reference if found else None)
    assert found is not None and found.outcome is Outcome.APPROVED


async def test_the_same_key_with_other_parameters_is_an_idempotency_error(emulator: Emulator) -> None:
    key = uuid.uuid4().hex
    first = await emulator.http(
        "POST", "/v1/customers", data={"email": "a@example.com"}, headers={"Idempotency-Key": key}
    )
    replay = await emulator.http(
        "POST", "/v1/customers", data={"email": "a@example.com"}, headers={"Idempotency-Key": key}
    )
    other = await emulator.http(
        "POST", "/v1/customers", data={"email": "b@example.com"}, headers={"Idempotency-Key": key}
    )

    assert first.json() == replay.json() and replay.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"


@pytest.mark.parametrize(
    ("token", "reason", "outcome"),
    [
        ("tok_chargeDeclinedInsufficientFunds", DeclineReason.INSUFFICIENT_FUNDS, Outcome.SOFT_DECLINE),
        ("tok_chargeDeclined", DeclineReason.DO_NOT_HONOR, Outcome.SOFT_DECLINE),
        ("tok_chargeDeclinedStolenCard", DeclineReason.STOLEN_CARD, Outcome.HARD_DECLINE),
        ("tok_chargeDeclinedExpiredCard", DeclineReason.EXPIRED_CARD, Outcome.HARD_DECLINE),
        ("tok_chargeDeclinedProcessingError", DeclineReason.PROCESSING_ERROR, Outcome.RETRYABLE),
    ],
)
async def test_card_declines_are_normalized(
    emulator: Emulator, token: str, reason: DeclineReason, outcome: Outcome
) -> None:
    adapter = emulator.adapter()
    result = await adapter.charge(request(await emulator.saved_card(token)))
    await adapter.aclose()

    assert (result.reason, result.outcome) == (reason, outcome)
    assert result.psp_reference and result.psp_reference.startswith("pi_")


async def test_a_card_asking_for_3ds_waits_on_session_and_declines_off_session(emulator: Emulator) -> None:
    adapter, method = emulator.adapter(), await emulator.saved_card("tok_authenticationRequired")
    on_session = await adapter.charge(request(method))
    off_session = await adapter.charge(request(method, off_session=True))
    await adapter.aclose()

    assert on_session.reason is DeclineReason.AUTHENTICATION_REQUIRED and on_session.decline
    assert on_session.decline.raw_code == "requires_action"
    intent = await emulator.intent(on_session.psp_reference)
    assert intent.status == "requires_action" and intent.next_action and intent.client_secret
    assert off_session.reason is DeclineReason.AUTHENTICATION_REQUIRED and off_session.decline
    assert off_session.decline.raw_code == "authentication_required"
    assert on_session.client_secret == intent.client_secret
    assert off_session.client_secret.startswith(f"{off_session.psp_reference}_secret_")


async def test_refunds_never_go_beyond_what_was_captured(emulator: Emulator) -> None:
    adapter = emulator.adapter()
    charge = await adapter.charge(request(await emulator.saved_card(), amount=1000))
    reference = charge.psp_reference or ""
    partial = await adapter.refund(reference, 400, "EUR", f"refund:{uuid.uuid4().hex}")
    too_much = await adapter.refund(reference, 700, "EUR", f"refund:{uuid.uuid4().hex}")
    rest = await adapter.void(reference, f"void:{uuid.uuid4().hex}")
    await adapter.aclose()

    assert partial.succeeded and partial.psp_reference and partial.psp_reference.startswith("re_")
    assert not too_much.succeeded and too_much.error_code == "amount_too_large" and not too_much.retryable
    assert rest.succeeded
    assert (await emulator.intent(reference)).amount_received == 1000


async def test_a_wrong_secret_key_is_an_unavailable_psp_not_a_decline(emulator: Emulator) -> None:
    adapter = StripePsp("stripe-eu", "sk_live_not_this_one", emulator.url, timeout_s=5)
    result = await adapter.charge(request("pm_card_visa"))
    await adapter.aclose()

    assert (result.reason, result.outcome) == (DeclineReason.PSP_UNAVAILABLE, Outcome.RETRYABLE)


async def test_an_unknown_attempt_key_finds_nothing(emulator: Emulator) -> None:
    adapter = emulator.adapter()
    assert await adapter.lookup(f"ch_{uuid.uuid4().hex}:stripe-eu") is None
    await adapter.aclose()
