"""Typed errors raised by domain and service code; mapped to gRPC/HTTP status in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field and what is wrong with it."""

    field: str
    description: str


class AzotteError(Exception):
    """Base of every typed error; `reason` is the UPPER_SNAKE_CASE ErrorInfo reason."""

    default_reason = "INTERNAL"

    def __init__(self, message: str, *, reason: str | None = None, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.reason = reason or self.default_reason
        self.metadata = metadata or {}


class NotFound(AzotteError):
    """The resource does not exist (or belongs to another tenant)."""

    default_reason = "NOT_FOUND"


class InvalidArgument(AzotteError):
    """The request is malformed; `violations` name the fields."""

    default_reason = "INVALID_ARGUMENT"

    def __init__(
        self,
        message: str,
        violations: list[FieldViolation] | None = None,
        *,
        reason: str | None = None,
        metadata: dict[str, str] | None = None,
    ):
        super().__init__(message, reason=reason, metadata=metadata)
        self.violations = violations or []

    @classmethod
    def field(cls, field: str, description: str, *, reason: str | None = None) -> InvalidArgument:
        """An error about a single field."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)], reason=reason)


class FailedPrecondition(AzotteError):
    """The operation is not allowed in the resource's current state."""

    default_reason = "FAILED_PRECONDITION"


class AlreadyExists(AzotteError):
    """A resource with that identity already exists."""

    default_reason = "ALREADY_EXISTS"


class Aborted(AzotteError):
    """A conflict, such as a request id reused with different content."""

    default_reason = "ABORTED"


class ResourceExhausted(AzotteError):
    """A limit or quota was reached."""

    default_reason = "RESOURCE_EXHAUSTED"


class PermissionDenied(AzotteError):
    """The caller's role does not allow the operation."""

    default_reason = "PERMISSION_DENIED"


class Unauthenticated(AzotteError):
    """No valid credentials were presented."""

    default_reason = "UNAUTHENTICATED"


class Unavailable(AzotteError):
    """A dependency is down; the call may be retried."""

    default_reason = "UNAVAILABLE"
