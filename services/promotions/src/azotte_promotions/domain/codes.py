"""Promotion codes: shared codes with their own limits, and batches of unguessable single-use codes.

Codes are stored normalized (upper case, no spaces or hyphens), so a lookup is case-insensitive and
forgives the hyphens a printed code is grouped with.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from azotte_promotions.errors import InvalidCode

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
"""31 symbols without the look-alikes 0/O, 1/I/L: a code read aloud or retyped is not mistaken."""
GENERATED_LENGTH = 12
"""31**12 ~ 7.9e17 codes (59 bits): guessing one of 100,000 takes ~8e12 tries on average."""
MAX_BATCH = 100_000
_SHARED = re.compile(r"^[A-Z0-9_]{3,64}$")
_PREFIX = re.compile(r"^[A-Z0-9]{0,12}$")


def normalize(code: str) -> str:
    """The stored form of a code as a customer may type it."""
    return code.strip().upper().replace("-", "").replace(" ", "")


def shared_code(code: str, field: str = "code") -> str:
    """A caller-chosen code, normalized; INVALID_ARGUMENT naming `field` when it is not one."""
    normalized = normalize(code)
    if not _SHARED.match(normalized):
        raise InvalidCode.field(field, "must be 3-64 letters, digits, underscores or hyphens")
    return normalized


def batch_prefix(prefix: str, field: str = "prefix") -> str:
    normalized = normalize(prefix)
    if not _PREFIX.match(normalized):
        raise InvalidCode.field(field, "must be at most 12 letters or digits")
    return normalized


def generate(count: int, prefix: str = "") -> list[str]:
    """`count` distinct random codes from `secrets` (a collision with a stored code is retried by the caller)."""
    codes: set[str] = set()
    while len(codes) < count:
        symbols = _symbols((count - len(codes)) * GENERATED_LENGTH)
        for start in range(0, len(symbols), GENERATED_LENGTH):
            codes.add(prefix + symbols[start : start + GENERATED_LENGTH])
    return list(codes)


_UNBIASED = 256 - 256 % len(ALPHABET)
"""Random bytes at or above this are dropped, so that `byte % 31` picks each symbol equally often."""


def _symbols(count: int) -> str:
    """`count` symbols of the alphabet drawn uniformly from the OS's secure random source."""
    drawn: list[str] = []
    while len(drawn) < count:
        chunk = secrets.token_bytes(count - len(drawn) + 16)
        drawn.extend(ALPHABET[byte % len(ALPHABET)] for byte in chunk if byte < _UNBIASED)
    return "".join(drawn[:count])


@dataclass(frozen=True, slots=True)
class PromotionCode:
    """A code of a promotion; `batch_id` is empty for a shared code. Counts are reserved and confirmed uses."""

    tenant_id: str
    code: str
    promotion_id: str
    batch_id: str = ""
    max_redemptions: int | None = None
    max_per_customer: int | None = None
    expires_at: datetime | None = None
    revoked: bool = False
    reserved_count: int = 0
    confirmed_count: int = 0
    created_at: datetime | None = None
    customer_id: str = ""
    """A personal code (a retention offer) is bound to one customer: for anyone else it does not exist."""

    @property
    def held(self) -> int:
        return self.reserved_count + self.confirmed_count

    def usable_by(self, customer_id: str) -> bool:
        return not self.customer_id or self.customer_id == customer_id

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def exhausted(self) -> bool:
        return self.max_redemptions is not None and self.held >= self.max_redemptions


@dataclass(frozen=True, slots=True)
class CodeBatch:
    """A batch of unique single-use codes of a promotion."""

    tenant_id: str
    id: str
    promotion_id: str
    code_count: int
    prefix: str = ""
    expires_at: datetime | None = None
    revoked: bool = False
    created_at: datetime | None = None
