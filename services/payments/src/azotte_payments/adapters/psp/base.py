"""What every HTTP PSP adapter shares: config, a pooled JSON client, and failures turned into results.

The interface the adapters implement is `ports.PaymentServiceProvider`; `registry.py` finds them by name.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult, PspOperationResult


@dataclass(frozen=True)
class HttpPspConfig:
    """Where a PSP lives and how long to wait for it."""

    base_url: str
    api_key: str
    timeout_s: float = 10.0


@dataclass(frozen=True)
class PspResponse:
    """A PSP's HTTP answer: status and JSON body (empty when the body is not JSON)."""

    status_code: int
    body: dict[str, Any]


class PspHttpError(Exception):
    """A PSP answered a read with an unexpected status."""


class PspHttp:
    """JSON over HTTP to one PSP, over a pooled keep-alive session opened on first use."""

    def __init__(self, config: HttpPspConfig, headers: dict[str, str]):
        self._config = config
        self._headers = headers
        self._session: aiohttp.ClientSession | None = None

    async def post(self, path: str, body: dict[str, Any] | None = None, *, idempotency_key: str) -> PspResponse:
        """POST a JSON body under an idempotency key."""
        return await self._request("POST", path, json=body, headers={"Idempotency-Key": idempotency_key})

    async def get(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """GET a JSON document; PspHttpError unless the PSP answers 200."""
        response = await self._request("GET", path, params=params)
        if response.status_code != 200:
            raise PspHttpError(f"GET {path} answered {response.status_code}")
        return response.body

    async def aclose(self) -> None:
        """Close the pooled connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _request(self, method: str, path: str, **options: Any) -> PspResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                base_url=self._config.base_url,
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=self._config.timeout_s),
            )
        async with self._session.request(method, path, **options) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
            return PspResponse(response.status, body if isinstance(body, dict) else {})


async def guarded_charge(
    psp: str,
    call: Callable[[], Awaitable[PspResponse]],
    interpret: Callable[[PspResponse, int], PspChargeResult],
) -> PspChargeResult:
    """Run a charge call, turning timeouts and transport failures into retryable results."""
    started = time.perf_counter()
    try:
        response = await call()
    except TimeoutError:
        # NOTE: a timeout is not a decline: money may have moved, the charge must be reconciled.
        return PspChargeResult.declined(psp, Decline(DeclineReason.TIMEOUT, "timeout"), latency_ms=_since(started))
    except aiohttp.ClientError as error:
        decline = Decline(DeclineReason.PSP_UNAVAILABLE, type(error).__name__)
        return PspChargeResult.declined(psp, decline, latency_ms=_since(started))
    return interpret(response, _since(started))


async def guarded_operation(
    psp: str,
    call: Callable[[], Awaitable[PspResponse]],
    interpret: Callable[[PspResponse], PspOperationResult],
) -> PspOperationResult:
    """Run a refund or void call; transport failures are retryable, never raised."""
    try:
        response = await call()
    except TimeoutError:
        return PspOperationResult(psp, succeeded=False, error_code="timeout", retryable=True)
    except aiohttp.ClientError as error:
        return PspOperationResult(psp, succeeded=False, error_code=type(error).__name__, retryable=True)
    return interpret(response)


def server_failure(psp: str, response: PspResponse, latency_ms: int) -> PspChargeResult | None:
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
