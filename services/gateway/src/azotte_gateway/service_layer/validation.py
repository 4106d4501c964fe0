"""Checks every area makes of a public request before calling a service."""

from __future__ import annotations

from typing import Protocol

from azotte_platform.request_ids import require_request_id
from azotte_platform.validation import require_fields


class MutatingRequest(Protocol):
    """A request that changes something names itself, so that a retry is recognized (AIP-155)."""

    @property
    def request_id(self) -> str: ...


def require(request: object, *fields: str) -> None:
    """INVALID_ARGUMENT naming the first of `fields` the request leaves empty."""
    require_fields(**{field: getattr(request, field) for field in fields})


def require_mutation(request: MutatingRequest, *fields: str) -> None:
    """`require` for a mutating request, which also needs its `request_id`.

    NOTE: the gateway never invents a request id: only the caller knows which calls are retries.
    """
    require(request, *fields)
    require_request_id(request.request_id)


PAYMENT_METHOD_FIELDS = {"token": "payment_method_token"}
"""Payments' names for a new payment method's fields, renamed to the public request's (see `field_names`)."""
