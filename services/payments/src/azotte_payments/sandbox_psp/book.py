"""In-memory state of one sandbox PSP: charges, refunds, idempotent replays, capture counts."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

LATENCY_ENV = "AZOTTE_SANDBOX_PSP_LATENCY_MS"
TIMEOUT_DELAY_ENV = "AZOTTE_SANDBOX_PSP_TIMEOUT_DELAY_S"


@dataclass(frozen=True)
class SandboxSettings:
    """Added latency on every call, and how long the timeout token keeps a request hanging."""

    latency_ms: int = 0
    timeout_delay_s: float = 30.0

    @classmethod
    def from_env(cls) -> SandboxSettings:
        """Settings from AZOTTE_SANDBOX_PSP_* environment variables."""
        return cls(
            latency_ms=int(os.environ.get(LATENCY_ENV, "0")),
            timeout_delay_s=float(os.environ.get(TIMEOUT_DELAY_ENV, "30")),
        )


@dataclass
class SandboxCharge:
    """A charge as the provider sees it."""

    charge_id: str
    amount_minor: int
    currency: str
    token: str
    idempotency_key: str
    reference: str
    captured: bool
    decline_code: str = ""
    refunded_minor: int = 0
    voided: bool = False


@dataclass(frozen=True)
class StoredAnswer:
    """A response kept for an idempotency key."""

    fingerprint: str
    status_code: int
    body: dict[str, Any]


@dataclass
class SandboxBook:
    """Everything one sandbox PSP remembers; one instance per server."""

    id_prefix: str
    settings: SandboxSettings
    charges: dict[str, SandboxCharge] = field(default_factory=dict)
    answers: dict[str, StoredAnswer] = field(default_factory=dict)
    captures_by_key: Counter[str] = field(default_factory=Counter)
    outage: bool = False

    def new_id(self) -> str:
        """A fresh provider reference."""
        return f"{self.id_prefix}{secrets.token_hex(8)}"

    def record_charge(self, charge: SandboxCharge) -> None:
        """Keep a charge and count its capture under its idempotency key and reference."""
        self.charges[charge.charge_id] = charge
        if charge.captured:
            self.captures_by_key[charge.idempotency_key] += 1
            if charge.reference != charge.idempotency_key:
                self.captures_by_key[charge.reference] += 1

    def find(self, *, idempotency_key: str = "", reference: str = "") -> list[SandboxCharge]:
        """Charges made with this idempotency key or merchant reference."""
        return [
            charge
            for charge in self.charges.values()
            if (idempotency_key and charge.idempotency_key == idempotency_key)
            or (reference and charge.reference == reference)
        ]

    def stored(self, key: str) -> StoredAnswer | None:
        """The first answer for `key`, if any (the caller checks its fingerprint)."""
        return self.answers.get(key) if key else None

    def remember(self, key: str, fingerprint: str, status_code: int, body: dict[str, Any]) -> JSONResponse:
        """Keep the answer for replays of `key`, and return it."""
        if key:
            self.answers[key] = StoredAnswer(fingerprint, status_code, body)
        return JSONResponse(body, status_code=status_code)

    async def simulate_latency(self, request: Request) -> None:
        """Configured latency, overridable per request with `?latency_ms=`."""
        latency_ms = int(request.query_params.get("latency_ms", self.settings.latency_ms))
        if latency_ms > 0:
            await asyncio.sleep(latency_ms / 1000)

    async def hang(self) -> None:
        """Keep the timeout token's request open past any sane client timeout."""
        await asyncio.sleep(self.settings.timeout_delay_s)


def outage_switch(book: SandboxBook) -> Callable[[Request], Awaitable[Response]]:
    """`POST /_test/outage {"enabled": bool}`: while enabled, charges answer 503."""

    async def switch(request: Request) -> Response:
        book.outage = bool((await json_body(request)).get("enabled"))
        return JSONResponse({"outage": book.outage})

    return switch


def fingerprint_of(body: Any) -> str:
    """Digest of a JSON body, key order ignored."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object body (empty when absent or not an object)."""
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return body if isinstance(body, dict) else {}
