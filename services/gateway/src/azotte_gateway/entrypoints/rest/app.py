"""The FastAPI application and the uvicorn server that runs it inside the gateway process."""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from starlette.convertors import PathConvertor, StringConvertor, register_url_convertor
from starlette.routing import compile_path

from azotte_gateway.entrypoints.portal.app import create_portal
from azotte_gateway.entrypoints.rest import (
    access,
    admin,
    analytics,
    billing,
    campaigns,
    catalog,
    channel_accounts,
    channels,
    checkout,
    contracts,
    customers,
    experiments,
    families,
    grants,
    invoices,
    policy,
    portal_users,
    promotions,
    psp_accounts,
    referrals,
    subscriptions,
    trials,
    usage,
    usage_billing,
    webhooks,
)
from azotte_gateway.entrypoints.rest.common import clean_parameters
from azotte_gateway.entrypoints.rest.errors import ERROR_RESPONSES, error_schemas, install_error_handlers
from azotte_gateway.entrypoints.rest.schemas import document_inputs, document_links
from azotte_gateway.service_layer.gateway import Gateway

DESCRIPTION = """The public API of Azotte. Every call carries `Authorization: Bearer <api key>`; the key names
the tenant and carries a role (docs/roles.md). Errors answer
`{"error": {"code", "status", "message", "details"}}` (`ErrorBody`), whose details are google.rpc `ErrorInfo` and
`BadRequest` naming the request's own fields; a body larger than 1 MiB answers 413. Custom methods use the colon form,
e.g. `POST /v1/subscriptions/{id}:cancel`."""


def create_app(gateway: Gateway) -> FastAPI:
    """The REST application over the gateway's areas, one router per area."""
    app = FastAPI(title="Azotte", version="1", description=DESCRIPTION, dependencies=[Depends(clean_parameters)])
    app.state.gateway = gateway
    # NOTE: `/v1/storefronts/` is a resource with an empty id (404), never a redirect to the collection.
    app.router.redirect_slashes = False
    install_error_handlers(app)
    app.state.route_methods = []
    areas = (
        access,
        checkout,
        subscriptions,
        billing,
        catalog,
        admin,
        families,
        grants,
        customers,
        policy,
        promotions,
        trials,
        referrals,
        campaigns,
        experiments,
        channels,
        channel_accounts,
        webhooks,
        analytics,
        usage,
        usage_billing,
        psp_accounts,
        invoices,
        contracts,
        portal_users,
    )
    for area in areas:
        _segments_end_at_colons(area.router)
        app.include_router(area.router, responses=ERROR_RESPONSES)
        app.state.route_methods += [(r.path_regex, r.methods) for r in area.router.routes if isinstance(r, APIRoute)]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = FastAPI.openapi(app)
            document.setdefault("components", {}).setdefault("schemas", {}).update(error_schemas())
            document_inputs(document)
            document_links(document)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]

    app.mount("/portal", create_portal(gateway))

    @app.get("/portal", include_in_schema=False)
    async def portal_home() -> RedirectResponse:
        return RedirectResponse("/portal/", status_code=308)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


class SegmentConvertor(StringConvertor):
    """A path parameter: one segment up to a colon, which starts a custom method (`{id}:cancel`)."""

    regex = "[^/:]+"


class SegmentsConvertor(PathConvertor):
    """A path parameter of several segments (an id with slashes) up to a colon, which starts a custom method."""

    regex = "[^:]+"


register_url_convertor("segment", SegmentConvertor())
register_url_convertor("segments", SegmentsConvertor())


def _segments_end_at_colons(router: APIRouter) -> None:
    """Route `/v1/subscriptions/s1:cancel` to the cancel method only, never to `GET /v1/subscriptions/{id}`
    with the id "s1:cancel", so a wrong method answers 405 with the methods the path documents in `Allow`
    (a `{name:path}` id of several segments ends at a colon too)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            route.path = re.sub(r"\{(\w+)\}", r"{\1:segment}", route.path)
            route.path = re.sub(r"\{(\w+):path\}", r"{\1:segments}", route.path)
            route.path_regex, route.path_format, route.param_convertors = compile_path(route.path)


class EmbeddedRestServer(uvicorn.Server):
    """A uvicorn server run as a task of the gateway process, which owns the signal handlers.

    With `reuse_port`, it listens on a socket bound with SO_REUSEPORT, which the gateway's other worker
    processes bind too: the kernel spreads connections over them.
    """

    def __init__(self, config: uvicorn.Config, *, reuse_port: bool = False):
        super().__init__(config)
        self._reuse_port = reuse_port

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None and self._reuse_port:
            sockets = [_reuse_port_socket(self.config.host, self.config.port)]
        await super().serve(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    async def wait_started(self, timeout: float = 10.0) -> None:
        """Return once the socket listens; raise if the server stopped or did not start in time."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.started:
            if self.should_exit or asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"the REST server did not start on {self.config.host}:{self.config.port}")
            await asyncio.sleep(0.01)


def _reuse_port_socket(host: str, port: int) -> socket.socket:
    family, kind, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


def rest_server(app: FastAPI, host: str, port: int, *, reuse_port: bool = False) -> EmbeddedRestServer:
    """A uvicorn server for `app` on host:port (bound with SO_REUSEPORT when several processes serve it)."""
    config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
    return EmbeddedRestServer(config, reuse_port=reuse_port)
