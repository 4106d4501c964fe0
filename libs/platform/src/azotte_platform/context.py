"""Per-request context: tenant, principal and request id, carried across calls in gRPC metadata.

This is the one way a tenant reaches another service: the platform's gRPC client forwards the
current context on every call. A servicer runs in its caller's context (bound by the server
interceptor); work that starts outside a call (a scheduler, an event consumer, a background loop)
enters a tenant with `tenant_scope(tenant_id)`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from azotte_platform.errors import TenantRequired

TENANT_HEADER = "x-azotte-tenant"
PRINCIPAL_HEADER = "x-azotte-principal"
REQUEST_ID_HEADER = "x-request-id"


@dataclass(frozen=True)
class RequestContext:
    """Who is calling, for which tenant, under which request id."""

    tenant_id: str = ""
    principal: str = ""
    request_id: str = ""


_EMPTY = RequestContext()
_current: ContextVar[RequestContext | None] = ContextVar("azotte_request_context", default=None)


def current() -> RequestContext:
    """The context of the request being served."""
    return _current.get() or _EMPTY


def set_current(ctx: RequestContext) -> None:
    """Bind `ctx` to the running task."""
    _current.set(ctx)


@contextmanager
def tenant_scope(tenant_id: str, principal: str = "", request_id: str = "") -> Iterator[RequestContext]:
    """Act for `tenant_id` inside the block (calls to other services carry it); the outer context after.

    The principal and request id default to the outer context's, so a call's request id follows it.
    """
    outer = current()
    scoped = RequestContext(tenant_id, principal or outer.principal, request_id or outer.request_id)
    token = _current.set(scoped)
    try:
        yield scoped
    finally:
        # NOTE: closed in another context (a request's dependency or task finalized by the garbage collector), the
        # scope was never set there, so there is nothing to restore.
        with contextlib.suppress(ValueError):
            _current.reset(token)


def require_tenant() -> str:
    """The calling tenant; every tenant-scoped call must carry one."""
    tenant = current().tenant_id
    if not tenant:
        raise TenantRequired.field(TENANT_HEADER, "every call must name its tenant")
    return tenant


def as_metadata(ctx: RequestContext) -> tuple[tuple[str, str], ...]:
    """gRPC metadata that carries `ctx` to the next service."""
    pairs = ((TENANT_HEADER, ctx.tenant_id), (PRINCIPAL_HEADER, ctx.principal), (REQUEST_ID_HEADER, ctx.request_id))
    return tuple((k, v) for k, v in pairs if v)
