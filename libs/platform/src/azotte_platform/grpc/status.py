"""The one place typed errors become gRPC statuses (and back, for callers of other services)."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2

from azotte_platform import errors

DOMAIN = "azotte.dev"
DETAILS_KEY = "grpc-status-details-bin"

CODES: dict[type[errors.AzotteError], grpc.StatusCode] = {
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.InvalidArgument: grpc.StatusCode.INVALID_ARGUMENT,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Aborted: grpc.StatusCode.ABORTED,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
}
ERRORS: dict[grpc.StatusCode, type[errors.AzotteError]] = {code: cls for cls, code in CODES.items()}


def status_code(error: errors.AzotteError) -> grpc.StatusCode:
    """The gRPC code of a typed error."""
    for cls in type(error).__mro__:
        if cls in CODES:
            return CODES[cls]
    return grpc.StatusCode.INTERNAL


def item_error(error: errors.AzotteError) -> dict[str, str]:
    """The fields of a batch item's error message (`code`, `reason`, `message`, `field`): what the single call would
    have failed with."""
    violations = error.violations if isinstance(error, errors.InvalidArgument) else []
    return {
        "code": status_code(error).name,
        "reason": error.reason,
        "message": error.message,
        "field": violations[0].field if violations else "",
    }


def to_rich_status(error: errors.AzotteError) -> tuple[grpc.StatusCode, str, tuple[tuple[str, bytes], ...]]:
    """Code, message and trailing metadata carrying `ErrorInfo` (and `BadRequest` field violations)."""
    code = status_code(error)
    details = [error_details_pb2.ErrorInfo(reason=error.reason, domain=DOMAIN, metadata=error.metadata)]
    if isinstance(error, errors.InvalidArgument) and error.violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in error.violations
                ]
            )
        )
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status = status_pb2.Status(code=code.value[0], message=error.message, details=packed)
    return code, error.message, ((DETAILS_KEY, status.SerializeToString()),)


def from_rpc_error(error: grpc.aio.AioRpcError) -> errors.AzotteError:
    """Rebuild the typed error another service raised, keeping its reason and field violations."""
    cls = ERRORS.get(error.code(), errors.Unavailable if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED else None)
    message = error.details() or error.code().name
    reason: str | None = None
    metadata: dict[str, str] = {}
    violations: list[errors.FieldViolation] = []
    trailers: Any = error.trailing_metadata() or ()
    for key, value in trailers:
        if key != DETAILS_KEY or not isinstance(value, bytes):
            continue
        for detail in status_pb2.Status.FromString(value).details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason, metadata = info.reason, dict(info.metadata)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                violations = [errors.FieldViolation(v.field, v.description) for v in bad.field_violations]
    return errors.remote(cls or errors.AzotteError, message, reason or "", metadata, violations)
