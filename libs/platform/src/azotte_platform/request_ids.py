"""AIP-155 request ids: required on every mutating request, derived for the steps of one request."""

from __future__ import annotations

import hashlib

from azotte_platform.errors import InvalidArgument

MAX_REQUEST_ID_LENGTH = 128


def require_request_id(request_id: str) -> str:
    """Every mutating request names itself so that retries are safe."""
    if not request_id:
        raise InvalidArgument.field("request_id", "is required on every mutating request")
    if len(request_id) > MAX_REQUEST_ID_LENGTH:
        raise InvalidArgument.field("request_id", f"must be at most {MAX_REQUEST_ID_LENGTH} characters")
    return request_id


def derive_request_id(*parts: str) -> str:
    """The request id of one step of a request: its parts joined by ':', stable across retries.

    One longer than a request id may be keeps its start and ends with a digest of the whole.
    """
    derived = ":".join(parts)
    if len(derived) <= MAX_REQUEST_ID_LENGTH:
        return derived
    digest = hashlib.sha256(derived.encode()).hexdigest()
    return f"{derived[: MAX_REQUEST_ID_LENGTH - len(digest) - 1]}:{digest}"
