"""The uniform REST error body `{"error": {"code", "status", "message", "details"}}` and its HTTP codes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from azotte_gateway.errors import PaymentRequiresAction
from azotte_gateway.service_layer.auth import RETRY_AFTER_KEY
from azotte_platform import errors
from azotte_platform.db.engine import transient_database_error
from azotte_platform.grpc.status import DOMAIN, status_code

log = logging.getLogger(__name__)

# NOTE: the most specific class first: a declined card is a FAILED_PRECONDITION in gRPC, but REST
# answers 402 Payment Required.
HTTP_CODES: tuple[tuple[type[errors.AzotteError], int], ...] = (
    (errors.PaymentDeclined, 402),
    (PaymentRequiresAction, 402),
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
MAX_BODY_BYTES = 1024 * 1024
"""The largest request body the REST API reads (a catalog document is the largest legitimate one)."""
BODY_TOO_LARGE = "REQUEST_BODY_TOO_LARGE"
_REASONS = {413: BODY_TOO_LARGE}


class ErrorDetail(BaseModel):
    """A google.rpc detail: `ErrorInfo` (reason, domain, metadata) or `BadRequest` (field_violations)."""

    type_: str = Field(alias="@type", examples=["type.googleapis.com/google.rpc.ErrorInfo"])
    reason: str | None = None
    domain: str | None = None
    metadata: dict[str, str] | None = None
    field_violations: list[dict[str, str]] | None = None


class ErrorStatus(BaseModel):
    code: int = Field(description="The HTTP status code.")
    status: str = Field(description="The google.rpc code name, e.g. INVALID_ARGUMENT.")
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """The uniform error body of every failure."""

    error: ErrorStatus


_DESCRIPTIONS: dict[int | str, str] = {
    400: "The request is not valid; `BadRequest` details name the request's fields.",
    401: "No valid API key.",
    403: "The key's role does not allow this.",
    404: "Not found (or another tenant's).",
    409: "Conflicts with the resource's state or an earlier request with the same request id.",
    413: "The request body is larger than 1 MiB.",
    429: "Rate limited; `Retry-After` says when to retry.",
    503: "A dependency is unavailable; retry.",
    "default": "Any other failure, in the same uniform body.",
}
_ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"description": text, "content": _ERROR_CONTENT} for code, text in _DESCRIPTIONS.items()
}
"""The error answers every route documents (and, since `default` is among them, FastAPI adds no 422).

NOTE: the content is spelled out rather than given as a model, so a route answering text (the catalog
export) still documents its errors as JSON; `error_schemas` adds the schemas it refers to.
"""


def error_schemas() -> dict[str, Any]:
    """The OpenAPI component schemas of `ErrorBody` and the models it holds."""
    schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}", mode="serialization")
    nested: dict[str, Any] = schema.pop("$defs", {})
    return {**nested, "ErrorBody": schema}


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


def _violation(error: dict[str, Any]) -> errors.FieldViolation:
    """One pydantic/FastAPI validation error as a violation of the request's own field."""
    if error.get("type") == "json_invalid":
        # NOTE: FastAPI's location is ("body", <character position>): the field is the body itself.
        cause = (error.get("ctx") or {}).get("error", "")
        position = list(error.get("loc", ()))[-1:]
        where = f" at character {position[0]}" if position else ""
        return errors.FieldViolation("body", f"is not valid JSON ({cause}{where})")
    return errors.FieldViolation(_field_name(error.get("loc", ())), str(error.get("msg", "")))


class BodyLimit:
    """ASGI middleware: a body past `limit` bytes answers 413 in the uniform body, read or not."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    def _message(self) -> str:
        return f"the request body is larger than {self.limit} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            body = error_body(413, "INVALID_ARGUMENT", self._message(), reason=BODY_TOO_LARGE)
            await JSONResponse(body, status_code=413)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)


def _allowed_methods(request: Request) -> str:
    """Every method of every route of the request's path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for path_regex, route_methods in getattr(request.app.state, "route_methods", ()):
        if path_regex.match(request.url.path):
            methods |= route_methods
    return ", ".join(sorted(methods))


def install_error_handlers(app: FastAPI) -> None:
    """Every failure answers the uniform body; bad input never answers 500."""

    app.add_middleware(BodyLimit)

    @app.exception_handler(errors.AzotteError)
    async def on_azotte_error(request: Request, error: errors.AzotteError) -> JSONResponse:
        return azotte_error_response(error)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        violations = [_violation(e) for e in error.errors()]
        message = "; ".join(f"{v.field}: {v.description}" for v in violations) or "the request is not valid"
        return azotte_error_response(errors.InvalidArgument(message, violations))

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        status = _HTTP_STATUSES.get(error.status_code, "INVALID_ARGUMENT" if error.status_code < 500 else INTERNAL)
        reason = _REASONS.get(error.status_code, status)
        body = error_body(error.status_code, status, str(error.detail), reason=reason)
        headers = dict(getattr(error, "headers", None) or {})
        if error.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return JSONResponse(body, status_code=error.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def on_crash(request: Request, error: Exception) -> JSONResponse:
        unavailable = transient_database_error(error)
        if unavailable is not None:
            return azotte_error_response(unavailable)
        log.exception("%s %s crashed", request.method, request.url.path)
        return JSONResponse(error_body(500, INTERNAL, "internal error", reason=INTERNAL), status_code=500)
