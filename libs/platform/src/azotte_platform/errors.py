"""Typed errors raised by domain and service code; mapped to gRPC/HTTP status in one place.

Each error class stands for one reason: its `reason` class attribute is the UPPER_SNAKE_CASE
`google.rpc.ErrorInfo` reason. A service declares its own reasons in its `errors.py`, subclassing
the status category here (`NotFound`, `InvalidArgument`, …); callers match on the class, never on
the reason string. Reasons that cross services (a caller matches them on another service's answer)
are declared here, in `SHARED`, so `from_rpc_error` rebuilds their class on the caller's side.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field and what is wrong with it."""

    field: str
    description: str


class AzotteError(Exception):
    """Base of every typed error; `reason` is the UPPER_SNAKE_CASE ErrorInfo reason."""

    reason: str = "INTERNAL"

    def __init__(self, message: str, *, metadata: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.metadata = metadata or {}


class NotFound(AzotteError):
    """The resource does not exist (or belongs to another tenant)."""

    reason = "NOT_FOUND"


class InvalidArgument(AzotteError):
    """The request is malformed; `violations` name the fields."""

    reason = "INVALID_ARGUMENT"

    def __init__(
        self, message: str, violations: list[FieldViolation] | None = None, *, metadata: dict[str, str] | None = None
    ):
        super().__init__(message, metadata=metadata)
        self.violations = violations or []

    @classmethod
    def field(cls, field: str, description: str) -> InvalidArgument:
        """An error about a single field."""
        return cls(f"{field}: {description}", [FieldViolation(field, description)])


class FailedPrecondition(AzotteError):
    """The operation is not allowed in the resource's current state."""

    reason = "FAILED_PRECONDITION"


class AlreadyExists(AzotteError):
    """A resource with that identity already exists."""

    reason = "ALREADY_EXISTS"


class Aborted(AzotteError):
    """A conflict, such as a request id reused with different content."""

    reason = "ABORTED"


class ResourceExhausted(AzotteError):
    """A limit or quota was reached."""

    reason = "RESOURCE_EXHAUSTED"


class PermissionDenied(AzotteError):
    """The caller's role does not allow the operation."""

    reason = "PERMISSION_DENIED"


class Unauthenticated(AzotteError):
    """No valid credentials were presented."""

    reason = "UNAUTHENTICATED"


class Unavailable(AzotteError):
    """A dependency is down; the call may be retried."""

    reason = "UNAVAILABLE"


CATEGORIES: tuple[type[AzotteError], ...] = (
    NotFound,
    InvalidArgument,
    FailedPrecondition,
    AlreadyExists,
    Aborted,
    ResourceExhausted,
    PermissionDenied,
    Unauthenticated,
    Unavailable,
)


# --- reasons raised by the platform itself, or matched by a caller on another service's answer ---


class TenantRequired(InvalidArgument):
    """A tenant-scoped call named no tenant."""

    reason = "TENANT_REQUIRED"


class InvalidTenantId(InvalidArgument):
    """A tenant id is not 1-63 lowercase letters, digits, '-' or '_'."""

    reason = "INVALID_TENANT_ID"


class RequestIdReused(Aborted):
    """A request id was used before for a request with other content."""

    reason = "REQUEST_ID_REUSED"


class DatabaseUnavailable(Unavailable):
    """The database connection was lost or refused; retry."""

    reason = "DATABASE_UNAVAILABLE"


class DatabaseConflict(Unavailable):
    """The database ended the transaction in a deadlock or serialization failure; retry."""

    reason = "DATABASE_CONFLICT"


class PaymentDeclined(FailedPrecondition):
    """The payment provider declined the charge; `decline_reason` in the metadata says why."""

    reason = "PAYMENT_DECLINED"


class LastPaymentMethod(FailedPrecondition):
    """A delete asked to keep the customer's last payment method would have removed it."""

    reason = "LAST_PAYMENT_METHOD"


class SubscriptionNotFound(NotFound):
    """No subscription of the tenant has that id or channel identity (lifecycle's; the channel inbox matches it)."""

    reason = "SUBSCRIPTION_NOT_FOUND"


SHARED: dict[str, type[AzotteError]] = {
    cls.reason: cls
    for cls in (
        TenantRequired,
        InvalidTenantId,
        RequestIdReused,
        DatabaseUnavailable,
        DatabaseConflict,
        PaymentDeclined,
        LastPaymentMethod,
        SubscriptionNotFound,
    )
}


def remote(
    category: type[AzotteError], message: str, reason: str, metadata: dict[str, str], violations: list[FieldViolation]
) -> AzotteError:
    """Another service's error rebuilt on the caller's side: its shared class, else its category with its reason."""
    shared = SHARED.get(reason)
    cls = shared if shared is not None and issubclass(shared, category) else category
    error = cls(message, metadata=metadata)
    if isinstance(error, InvalidArgument):
        error.violations = violations
    if reason and error.reason != reason:
        # NOTE: an instance attribute keeps the callee's reason when only its category is known here.
        error.reason = reason
    return error
