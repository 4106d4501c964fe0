"""Idempotency keys: a repeat returns the first answer, a reuse with new content is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from azotte_payments.errors import IdempotencyKeyReused
from azotte_platform.errors import InvalidArgument

ResultT = TypeVar("ResultT")


def request_fingerprint(content: Mapping[str, object]) -> str:
    """Stable SHA-256 of a request's content (key order and whitespace do not matter)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class IdempotentRecord(Generic[ResultT]):
    """What was stored for an idempotency key: the request's fingerprint and its first result."""

    key: str
    fingerprint: str
    result: ResultT


def replay_or_none(stored: IdempotentRecord[ResultT] | None, key: str, fingerprint: str) -> ResultT | None:
    """First result for a repeated key with identical content; None for a new key.

    Raises IdempotencyKeyReused when the key was used for different content.
    """
    if not key:
        raise InvalidArgument.field("idempotency_key", "is required")
    if stored is None:
        return None
    # NOTE: same key + same content -> the first result, never a second PSP call.
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused("the idempotency key was already used for a different request")
    return stored.result
