"""POSTing webhook messages over HTTP: resolve, refuse non-public targets, connect to the address checked.

NOTE: the host is resolved once per attempt and the connection goes to the address that was checked (the
`Host` header and, for https, the TLS server name and certificate check keep the URL's host), so a DNS
answer that changes between the check and the connection (DNS rebinding) cannot reach an internal address.
Redirects are never followed.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from azotte_gateway.domain.webhooks import (
    REQUEST_TIMEOUT_SECONDS,
    RESPONSE_EXCERPT_BYTES,
    DeliveryResult,
    parse_target,
    target_problem,
)
from azotte_gateway.ports import HostResolver
from azotte_platform.errors import InvalidArgument

USER_AGENT = "Azotte-Webhooks/1"
CLIENT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


class DnsResolver:
    """Implements `ports.HostResolver` with the system resolver (literal addresses, decimal forms included);
    a name that takes longer than `timeout_seconds` to resolve does not resolve."""

    def __init__(self, timeout_seconds: float = 5.0):
        self._timeout = timeout_seconds

    async def resolve(self, host: str, port: int) -> list[str]:
        try:
            async with asyncio.timeout(self._timeout):
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError, ValueError, TimeoutError):
            return []
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A `Retry-After` header (seconds or an HTTP date) as a delay; None when absent or unreadable."""
    if not value:
        return None
    if value.strip().isdigit():
        return timedelta(seconds=int(value.strip()))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta())


def _pinned_url(url: str, address: str) -> httpx.URL:
    """The URL with its host replaced by the address checked."""
    return httpx.URL(url).copy_with(host=address.split("%", 1)[0])


class HttpWebhookSender:
    """Implements `ports.WebhookSender` with one pooled httpx client: 15 s timeout, no redirects."""

    def __init__(self, resolver: HostResolver | None = None, *, timeout_seconds: float = REQUEST_TIMEOUT_SECONDS):
        self._resolver = resolver or DnsResolver()
        self._client = httpx.AsyncClient(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            limits=CLIENT_LIMITS,
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def send(self, url: str, *, sandbox: bool, headers: Mapping[str, str], body: bytes) -> DeliveryResult:
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            target = parse_target(url, sandbox=sandbox, field_name="url")
        except InvalidArgument as refused:
            return DeliveryResult(0, elapsed(), error=f"target refused: {refused}")
        addresses = await self._resolver.resolve(target.host, target.port)
        problem = target_problem(target, addresses, sandbox=sandbox)
        if problem is not None:
            return DeliveryResult(0, elapsed(), error=f"target refused: {problem}")
        address = addresses[0]
        host_header = target.host if ":" not in target.host else f"[{target.host}]"
        if httpx.URL(url).port is not None:
            host_header += f":{target.port}"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        request = self._client.build_request(
            "POST",
            _pinned_url(url, address),
            content=body,
            headers={
                **headers,
                "host": host_header,
                "content-type": "application/json",
                "user-agent": USER_AGENT,
            },
            extensions=extensions,
        )
        try:
            response = await self._client.send(request, stream=True)
            try:
                excerpt = b""
                async for chunk in response.aiter_raw():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                        break
            finally:
                await response.aclose()
        except httpx.TimeoutException:
            return DeliveryResult(0, elapsed(), error="timed out")
        except httpx.HTTPError as error:
            return DeliveryResult(0, elapsed(), error=f"{type(error).__name__}: {error}"[:500])
        text = excerpt[:RESPONSE_EXCERPT_BYTES].decode("utf-8", errors="replace").replace("\x00", "")
        return DeliveryResult(
            response.status_code,
            elapsed(),
            error="" if response.is_success else f"HTTP {response.status_code}",
            response_excerpt=text,
            retry_after=retry_after(response.headers.get("retry-after"), datetime.now(UTC)),
        )
