"""The operator portal: a server-rendered FastAPI app mounted at `/portal` on the gateway's REST app.

Its only backend is the gateway's own areas, called with the signed-in user's caller (session.py), so every
page and action is authorized where the API is. `PAGES` lists the page modules; each has a `router`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from azotte_gateway.entrypoints.portal.pages import (
    analytics,
    campaigns,
    catalog,
    customers,
    dashboard,
    sign_in,
    tenant,
    usage,
)
from azotte_gateway.entrypoints.portal.rendering import TEMPLATES, refused, render
from azotte_gateway.entrypoints.portal.session import SignInRequired
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform import errors

log = logging.getLogger(__name__)

PAGES = (sign_in, dashboard, customers, catalog, campaigns, usage, analytics, tenant)
STATIC = TEMPLATES.parent / "static"
SERVER_TIMING = "Server-Timing"

# NOTE: the portal's pages embed no script and load nothing from elsewhere; a framing site cannot click for a user.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def create_portal(gateway: Gateway) -> FastAPI:
    """The portal app over the gateway's areas (mount it at `/portal`)."""
    portal = FastAPI(title="Azotte portal", docs_url=None, redoc_url=None, openapi_url=None)
    portal.state.gateway = gateway
    for page in PAGES:
        portal.include_router(page.router)
    portal.mount("/static", StaticFiles(directory=STATIC), name="static")

    @portal.middleware("http")
    async def headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # NOTE: the server's time per page, for the browser's developer tools and the render-time measurements.
        response.headers[SERVER_TIMING] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @portal.exception_handler(SignInRequired)
    async def sign_in_required(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(error.location, status_code=303)

    @portal.exception_handler(errors.AzotteError)
    async def refusal(request: Request, error: errors.AzotteError) -> Response:
        if not isinstance(error, errors.InvalidArgument | errors.NotFound | errors.PermissionDenied):
            log.info("portal refusal on %s: %s", request.url.path, error.reason)
        return refused(request, error)

    @portal.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in error.errors()]
        return refused(request, errors.InvalidArgument("; ".join(problems) or "the request is not valid"))

    @portal.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return refused(request, errors.NotFound("there is no such page in the portal"))
        viewer = getattr(request.state, "viewer", None)
        return render(request, viewer, "error.html", status_code=error.status_code, title="Error", message=error.detail)

    return portal
