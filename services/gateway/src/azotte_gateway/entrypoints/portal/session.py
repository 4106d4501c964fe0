"""Who is signed in to the portal: the session cookie, the viewer every page gets, and the CSRF check of posts.

    @router.get("/things")  # served at /portal/things
    async def things(request: Request, viewer: SignedIn) -> HTMLResponse: ...

    @router.post("/things")
    async def create_thing(request: Request, viewer: CsrfChecked) -> Response: ...

A page runs inside its viewer's tenant scope and calls the gateway's area methods with `viewer.caller`,
which authorize it exactly as they authorize an API key of the user's role.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request
from starlette.responses import Response

from azotte_gateway.domain.permissions import Permission, is_allowed
from azotte_gateway.domain.portal_users import ABSOLUTE_TIMEOUT, PortalUser
from azotte_gateway.entrypoints.portal.forms import PortalForm, read_form
from azotte_gateway.errors import PortalCsrfTokenInvalid, PortalSessionInvalid
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.gateway import Gateway

COOKIE = "azotte_portal"
PORTAL_PATH = "/portal"
SIGN_IN_PATH = f"{PORTAL_PATH}/sign-in"
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """The request has no live session: the portal app answers with a redirect to the sign-in page."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.location = f"{SIGN_IN_PATH}?next={quote(next_path, safe='/')}"


@dataclass(frozen=True)
class PortalViewer:
    """The signed-in user of a request, the caller it acts as and the gateway's areas to call."""

    caller: Caller
    user: PortalUser
    csrf_token: str
    gateway: Gateway

    def now(self) -> datetime:
        """The viewer's tenant's time (a sandbox tenant's clock may have moved)."""
        return self.gateway.portal_users.tenant_now(self.caller.tenant.id)

    def can(self, permission: str) -> bool:
        """True when the user's role has the permission (templates hide what it cannot do)."""
        return is_allowed(self.user.role, Permission(permission))


def portal_gateway(request: Request) -> Gateway:
    """The gateway's areas, as the portal app was created with."""
    gateway: Gateway = request.app.state.gateway
    return gateway


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """Hand the browser its session token: HttpOnly, SameSite=Strict, only under /portal (Secure over https)."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(ABSOLUTE_TIMEOUT.total_seconds()),
        path=PORTAL_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


async def signed_in(request: Request) -> AsyncIterator[PortalViewer]:
    """The viewer of this request, in its tenant's scope; without a live session, a redirect to sign in."""
    gateway = portal_gateway(request)
    try:
        identity = await gateway.portal_users.resume(request.cookies.get(COOKIE, ""))
    except PortalSessionInvalid:
        raise SignInRequired(request.url.path) from None
    viewer = PortalViewer(identity.caller, identity.user, identity.session.csrf_token, gateway)
    request.state.viewer = viewer
    with identity.caller.scope():
        yield viewer


SignedIn = Annotated[PortalViewer, Depends(signed_in)]


async def csrf_checked(request: Request, viewer: SignedIn) -> PortalViewer:
    """The viewer of a form post whose `csrf_token` field is its session's (synchronizer token pattern)."""
    form: PortalForm = await read_form(request)
    presented = form.raw(CSRF_FIELD).encode()
    if not viewer.csrf_token or not hmac.compare_digest(viewer.csrf_token.encode(), presented):
        raise PortalCsrfTokenInvalid("the form is stale or was not sent by the portal; reload the page and retry")
    return viewer


CsrfChecked = Annotated[PortalViewer, Depends(csrf_checked)]
