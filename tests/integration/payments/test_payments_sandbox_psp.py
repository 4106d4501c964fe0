import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from azotte_payments.adapters.psp.adyen_like import AdyenLikePsp
from azotte_payments.adapters.psp.base import HttpPspConfig
from azotte_payments.adapters.psp.stripe_like import StripeLikePsp
from azotte_payments.domain.declines import DeclineReason, Outcome
from azotte_payments.ports import PaymentServiceProvider, PspChargeRequest
from azotte_payments.sandbox_psp import adyen_like, stripe_like
from azotte_payments.sandbox_psp.book import SandboxSettings
from azotte_payments.sandbox_psp.tokens import SandboxToken
from tests.integration.payments.payments_harness import serving

SETTINGS = SandboxSettings(latency_ms=0, timeout_delay_s=1.5)
SHORT_TIMEOUT_S = 0.3


@dataclass
class Sandbox:
    """A running sandbox PSP and how to reach it."""

    kind: str
    base_url: str

    def adapter(self, timeout_s: float = 5.0) -> PaymentServiceProvider:
        if self.kind == "stripe_like":
            return StripeLikePsp(HttpPspConfig(self.base_url, "sk_test_azotte", timeout_s))
        return AdyenLikePsp(HttpPspConfig(self.base_url, "adyen_test_key", timeout_s), "AzotteECOM")

    async def captures(self, key: str) -> int:
        param = "idempotency_key" if self.kind == "stripe_like" else "reference"
        async with httpx.AsyncClient(base_url=self.base_url) as client:
            response = await client.get("/_test/captures", params={param: key})
        return int(response.json()["captures"])


FACTORIES: dict[str, Callable[[SandboxSettings], Starlette]] = {
    "stripe_like": stripe_like.create_app,
    "adyen_like": adyen_like.create_app,
}


@pytest_asyncio.fixture(scope="module", params=sorted(FACTORIES))
async def sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    async with serving(FACTORIES[request.param](SETTINGS)) as base_url:
        yield Sandbox(request.param, base_url)


def charge_request(token: str, amount: int = 1099, key: str | None = None) -> PspChargeRequest:
    key = key or f"ch_{uuid.uuid4().hex}:psp"
    return PspChargeRequest(key, amount, "EUR", token, reference=key.split(":")[0], description="Pro monthly")


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("token", "outcome", "reason"),
    [
        (SandboxToken.SUCCESS, Outcome.APPROVED, None),
        (SandboxToken.INSUFFICIENT_FUNDS, Outcome.SOFT_DECLINE, DeclineReason.INSUFFICIENT_FUNDS),
        (SandboxToken.DO_NOT_HONOR, Outcome.SOFT_DECLINE, DeclineReason.DO_NOT_HONOR),
        (SandboxToken.STOLEN_CARD, Outcome.HARD_DECLINE, DeclineReason.STOLEN_CARD),
        (SandboxToken.LOST_CARD, Outcome.HARD_DECLINE, DeclineReason.LOST_CARD),
        (SandboxToken.EXPIRED_CARD, Outcome.HARD_DECLINE, DeclineReason.EXPIRED_CARD),
        (SandboxToken.PROCESSING_ERROR, Outcome.RETRYABLE, DeclineReason.PROCESSING_ERROR),
    ],
)
async def test_each_test_token_is_normalized(
    sandbox: Sandbox, token: SandboxToken, outcome: Outcome, reason: DeclineReason | None
) -> None:
    psp = sandbox.adapter()
    request = charge_request(token)
    result = await psp.charge(request)
    await psp.aclose()
    assert (result.outcome, result.reason) == (outcome, reason)
    assert await sandbox.captures(request.idempotency_key) == (1 if outcome is Outcome.APPROVED else 0)


@pytest.mark.asyncio
async def test_timeout_is_retryable_and_reconciled_by_idempotency_key(sandbox: Sandbox) -> None:
    impatient, patient = sandbox.adapter(timeout_s=SHORT_TIMEOUT_S), sandbox.adapter()
    request = charge_request(SandboxToken.TIMEOUT)
    result = await impatient.charge(request)
    assert (result.outcome, result.reason) == (Outcome.RETRYABLE, DeclineReason.TIMEOUT)
    assert result.latency_ms >= SHORT_TIMEOUT_S * 1000
    found = await patient.lookup(request.idempotency_key)
    assert found is not None and found.outcome is Outcome.APPROVED
    retried = await patient.charge(request)
    assert (retried.outcome, retried.psp_reference) == (Outcome.APPROVED, found.psp_reference)
    assert await sandbox.captures(request.idempotency_key) == 1
    await impatient.aclose()
    await patient.aclose()


@pytest.mark.asyncio
async def test_idempotent_retry_captures_once(sandbox: Sandbox) -> None:
    psp = sandbox.adapter()
    request = charge_request(SandboxToken.SUCCESS)
    first, second = await psp.charge(request), await psp.charge(request)
    declined = charge_request(SandboxToken.INSUFFICIENT_FUNDS)
    declines = [await psp.charge(declined) for _ in range(2)]
    await psp.aclose()
    assert first.outcome is Outcome.APPROVED
    assert second.psp_reference == first.psp_reference
    assert await sandbox.captures(request.idempotency_key) == 1
    assert {d.reason for d in declines} == {DeclineReason.INSUFFICIENT_FUNDS}


@pytest.mark.asyncio
async def test_same_key_with_other_content_is_refused_without_capture(sandbox: Sandbox) -> None:
    psp = sandbox.adapter()
    request = charge_request(SandboxToken.SUCCESS)
    await psp.charge(request)
    other = await psp.charge(charge_request(SandboxToken.SUCCESS, amount=5, key=request.idempotency_key))
    await psp.aclose()
    assert other.outcome is Outcome.HARD_DECLINE and other.reason is DeclineReason.INVALID_REQUEST
    assert await sandbox.captures(request.idempotency_key) == 1


@pytest.mark.asyncio
async def test_partial_and_full_refunds_never_exceed_the_capture(sandbox: Sandbox) -> None:
    psp = sandbox.adapter()
    charged = await psp.charge(charge_request(SandboxToken.SUCCESS, amount=1000))
    assert charged.psp_reference is not None
    partial = await psp.refund(charged.psp_reference, 300, "EUR", f"re_{uuid.uuid4().hex}")
    too_much = await psp.refund(charged.psp_reference, 800, "EUR", f"re_{uuid.uuid4().hex}")
    rest_key = f"re_{uuid.uuid4().hex}"
    rest = await psp.refund(charged.psp_reference, 700, "EUR", rest_key)
    rest_again = await psp.refund(charged.psp_reference, 700, "EUR", rest_key)
    await psp.aclose()
    assert partial.succeeded and rest.succeeded
    assert not too_much.succeeded and not too_much.retryable
    assert rest_again.psp_reference == rest.psp_reference


@pytest.mark.asyncio
async def test_void_cancels_an_unrefunded_charge(sandbox: Sandbox) -> None:
    psp = sandbox.adapter()
    charged = await psp.charge(charge_request(SandboxToken.SUCCESS))
    assert charged.psp_reference is not None
    voided = await psp.void(charged.psp_reference, f"void_{uuid.uuid4().hex}")
    refund_after_void = await psp.refund(charged.psp_reference, 100, "EUR", f"re_{uuid.uuid4().hex}")
    await psp.aclose()
    assert voided.succeeded
    assert not refund_after_void.succeeded


@pytest.mark.asyncio
async def test_lookup_of_an_unknown_key_finds_nothing(sandbox: Sandbox) -> None:
    psp = sandbox.adapter()
    assert await psp.lookup(f"ch_{uuid.uuid4().hex}:psp") is None
    await psp.aclose()


@pytest.mark.asyncio
@pytest.mark.parametrize("kind", sorted(FACTORIES))
async def test_configured_latency_shows_in_the_attempt(kind: str) -> None:
    async with serving(FACTORIES[kind](SandboxSettings(latency_ms=150))) as base_url:
        psp = Sandbox(kind, base_url).adapter()
        result = await psp.charge(charge_request(SandboxToken.SUCCESS))
        await psp.aclose()
    assert result.outcome is Outcome.APPROVED
    assert result.latency_ms >= 150


@pytest.mark.asyncio
async def test_unreachable_psp_is_retryable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    psp = StripeLikePsp(HttpPspConfig(f"http://127.0.0.1:{port}", "sk_test_azotte", 1.0))
    result = await psp.charge(charge_request(SandboxToken.SUCCESS))
    await psp.aclose()
    assert (result.outcome, result.reason) == (Outcome.RETRYABLE, DeclineReason.PSP_UNAVAILABLE)


@pytest.mark.asyncio
async def test_bad_credentials_are_retryable_not_a_decline() -> None:
    async with serving(stripe_like.create_app(SETTINGS)) as base_url:
        psp = StripeLikePsp(HttpPspConfig(base_url, "wrong", 5.0))
        result = await psp.charge(charge_request(SandboxToken.SUCCESS))
        await psp.aclose()
    assert (result.outcome, result.reason) == (Outcome.RETRYABLE, DeclineReason.PSP_UNAVAILABLE)
