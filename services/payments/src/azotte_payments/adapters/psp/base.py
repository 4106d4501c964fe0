"""The one interface every PSP adapter implements, with normalized results."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import httpx

from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult


@dataclass(frozen=True)
class PspChargeRequest:
    """A capture request sent to one PSP for one attempt."""

    idempotency_key: str
    amount_minor: int
    currency: str
    payment_token: str
    reference: str
    description: str = ""


class PaymentServiceProvider(Protocol):
    """A payment service provider reached over the network."""

    @property
    def name(self) -> str:
        """Routing name of this PSP (as used in storefront routing rules)."""
        ...

    async def charge(self, request: PspChargeRequest) -> PspChargeResult:
        """Authorize and capture; never raises for declines, errors or timeouts."""
        ...

    async def refund(
        self, psp_reference: str, amount_minor: int, currency: str, idempotency_key: str
    ) -> PspOperationResult:
        """Refund part or all of a captured charge."""
        ...

    async def void(self, psp_reference: str, idempotency_key: str) -> PspOperationResult:
        """Cancel a captured, unsettled and unrefunded charge."""
        ...

    async def lookup(self, idempotency_key: str) -> PspChargeResult | None:
        """What the PSP recorded for an attempt's idempotency key (None: nothing)."""
        ...

    async def aclose(self) -> None:
        """Release network resources."""
        ...


@dataclass(frozen=True)
class HttpPspConfig:
    """Where a PSP lives and how long to wait for it."""

    base_url: str
    api_key: str
    timeout_s: float = 10.0


def http_client(config: HttpPspConfig, headers: dict[str, str]) -> httpx.AsyncClient:
    """An HTTP client with the PSP's base URL, credentials and timeout."""
    return httpx.AsyncClient(base_url=config.base_url, headers=headers, timeout=httpx.Timeout(config.timeout_s))


async def guarded_charge(
    psp: str,
    call: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response, int], PspChargeResult],
) -> PspChargeResult:
    """Run a charge call, turning timeouts and transport failures into retryable results."""
    started = time.perf_counter()
    try:
        response = await call()
    except httpx.TimeoutException:
        # NOTE: a timeout is not a decline: money may have moved, the charge must be reconciled.
        return PspChargeResult.declined(psp, Decline(DeclineReason.TIMEOUT, "timeout"), latency_ms=_since(started))
    except httpx.TransportError as error:
        decline = Decline(DeclineReason.PSP_UNAVAILABLE, type(error).__name__)
        return PspChargeResult.declined(psp, decline, latency_ms=_since(started))
    return interpret(response, _since(started))


async def guarded_operation(
    psp: str,
    call: Callable[[], Awaitable[httpx.Response]],
    interpret: Callable[[httpx.Response], PspOperationResult],
) -> PspOperationResult:
    """Run a refund or void call; transport failures are retryable, never raised."""
    try:
        response = await call()
    except httpx.TimeoutException:
        return PspOperationResult(psp, succeeded=False, error_code="timeout", retryable=True)
    except httpx.TransportError as error:
        return PspOperationResult(psp, succeeded=False, error_code=type(error).__name__, retryable=True)
    return interpret(response)


def server_failure(psp: str, response: httpx.Response, latency_ms: int) -> PspChargeResult | None:
    """Retryable result for 5xx and authentication failures, None otherwise."""
    if response.status_code >= 500:
        decline = Decline(DeclineReason.PROCESSING_ERROR, f"http_{response.status_code}")
        return PspChargeResult.declined(psp, decline, latency_ms=latency_ms)
    if response.status_code in (401, 403):
        # NOTE: bad credentials are our configuration problem: fail over, let the breaker open.
        decline = Decline(DeclineReason.PSP_UNAVAILABLE, f"http_{response.status_code}")
        return PspChargeResult.declined(psp, decline, latency_ms=latency_ms)
    return None


def _since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
