"""The uniform REST error body `{"error": {"code", "status", "message", "details"}}` and its HTTP codes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from azotte_gateway.service_layer.auth import RETRY_AFTER_KEY
from azotte_platform import errors
from azotte_platform.db.engine import transient_database_error
from azotte_platform.grpc.status import DOMAIN, status_code

log = logging.getLogger(__name__)

# NOTE: the most specific class first: a declined card is a FAILED_PRECONDITION in gRPC, but REST
# answers 402 Payment Required.
HTTP_CODES: tuple[tuple[type[errors.AzotteError], int], ...] = (
    (errors.PaymentDeclined, 402),
    (errors.NotFound, 404),
    (errors.InvalidArgument, 400),
    (errors.FailedPrecondition, 409),
    (errors.AlreadyExists, 409),
    (errors.Aborted, 409),
    (errors.ResourceExhausted, 429),
    (errors.PermissionDenied, 403),
    (errors.Unauthenticated, 401),
    (errors.Unavailable, 503),
)
INTERNAL = "INTERNAL"
_HTTP_STATUSES = {404: "NOT_FOUND", 405: "UNIMPLEMENTED", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED"}


def error_body(
    http_code: int,
    status: str,
    message: str,
    *,
    reason: str,
    metadata: dict[str, str] | None = None,
    violations: list[errors.FieldViolation] | None = None,
) -> dict[str, Any]:
    """The body of every REST error, with google.rpc ErrorInfo and BadRequest details."""
    details: list[dict[str, Any]] = [
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": reason,
            "domain": DOMAIN,
            "metadata": metadata or {},
        }
    ]
    if violations:
        details.append(
            {
                "@type": "type.googleapis.com/google.rpc.BadRequest",
                "field_violations": [{"field": v.field, "description": v.description} for v in violations],
            }
        )
    return {"error": {"code": http_code, "status": status, "message": message, "details": details}}


def http_code(error: errors.AzotteError) -> int:
    """The HTTP status of a typed error, by its class."""
    return next((code for cls, code in HTTP_CODES if isinstance(error, cls)), 500)


def azotte_error_response(error: errors.AzotteError) -> JSONResponse:
    """The HTTP answer to a typed error."""
    status = status_code(error).name
    code = http_code(error)
    violations = error.violations if isinstance(error, errors.InvalidArgument) else None
    body = error_body(code, status, error.message, reason=error.reason, metadata=error.metadata, violations=violations)
    headers = {}
    if isinstance(error, errors.ResourceExhausted) and RETRY_AFTER_KEY in error.metadata:
        headers["Retry-After"] = error.metadata[RETRY_AFTER_KEY]
    return JSONResponse(body, status_code=code, headers=headers)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    return ".".join(parts) or "body"


def install_error_handlers(app: FastAPI) -> None:
    """Every failure answers the uniform body; bad input never answers 500."""

    @app.exception_handler(errors.AzotteError)
    async def on_azotte_error(_: Request, error: errors.AzotteError) -> JSONResponse:
        return azotte_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        violations = [
            errors.FieldViolation(_field_name(e.get("loc", ())), str(e.get("msg", ""))) for e in error.errors()
        ]
        message = "; ".join(f"{v.field}: {v.description}" for v in violations) or "the request is not valid"
        return azotte_error_response(errors.InvalidArgument(message, violations))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        status = _HTTP_STATUSES.get(error.status_code, "INVALID_ARGUMENT" if error.status_code < 500 else INTERNAL)
        body = error_body(error.status_code, status, str(error.detail), reason=status)
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        unavailable = transient_database_error(error)
        if unavailable is not None:
            return azotte_error_response(unavailable)
        log.exception("%s %s crashed", request.method, request.url.path)
        return JSONResponse(error_body(500, INTERNAL, "internal error", reason=INTERNAL), status_code=500)
