"""Signing in (tenant, email, password), signing out, and the portal's front door."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from azotte_gateway.entrypoints.portal.forms import read_form
from azotte_gateway.entrypoints.portal.rendering import field_errors, render
from azotte_gateway.entrypoints.portal.session import (
    COOKIE,
    CSRF_FIELD,
    PORTAL_PATH,
    CsrfChecked,
    SignedIn,
    portal_gateway,
    set_session_cookie,
)
from azotte_gateway.errors import PortalSignInFailed, PortalSignInLocked
from azotte_platform.errors import InvalidArgument

router = APIRouter()
SIGN_IN_COOKIE = "azotte_portal_sign_in"
HOME = f"{PORTAL_PATH}/dashboard"


def _next_page(requested: str) -> str:
    """Where to go after signing in: a page of the portal only (never another site)."""
    inside = requested.startswith(f"{PORTAL_PATH}/") and not requested.startswith("//") and "\\" not in requested
    return requested if inside and "://" not in requested else HOME


@router.get("/", include_in_schema=False)
async def front_door(viewer: SignedIn) -> Response:
    return RedirectResponse(HOME, status_code=303)


def _sign_in_form(request: Request, *, status_code: int = 200, **context: Any) -> Response:
    """The sign-in form with a fresh pre-session CSRF token, in its field and in a SameSite=Strict cookie."""
    token = secrets.token_urlsafe(32)
    response = render(request, None, "sign_in.html", status_code=status_code, sign_in_token=token, **context)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        path=f"{PORTAL_PATH}/sign-in",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str = "", tenant_id: str = "") -> Response:
    return _sign_in_form(request, next=_next_page(next), tenant_id=tenant_id[:256], email="", errors={})


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await read_form(request)
    tenant_id, email, next_page = form.text("tenant_id"), form.text("email"), _next_page(form.raw("next"))
    context = {"next": next_page, "tenant_id": tenant_id, "email": email}
    # NOTE: a sign-in posted by another site (login CSRF) carries no cookie of this form: SameSite=Strict.
    presented, expected = form.raw(CSRF_FIELD).encode(), request.cookies.get(SIGN_IN_COOKIE, "").encode()
    if not expected or not hmac.compare_digest(expected, presented):
        message = "the sign-in form expired; please sign in again"
        return _sign_in_form(request, status_code=403, errors={"": message}, **context)
    try:
        signed = await portal_gateway(request).portal_users.sign_in(tenant_id, email, form.raw("password"))
    except InvalidArgument as error:
        return _sign_in_form(request, status_code=400, errors=field_errors(error), **context)
    except (PortalSignInFailed, PortalSignInLocked) as error:
        status = 429 if isinstance(error, PortalSignInLocked) else 401
        return _sign_in_form(request, status_code=status, errors={"": error.message}, **context)
    response = RedirectResponse(next_page, status_code=303)
    set_session_cookie(response, request, signed.token)
    response.delete_cookie(SIGN_IN_COOKIE, path=f"{PORTAL_PATH}/sign-in", httponly=True, samesite="strict")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, viewer: CsrfChecked) -> Response:
    await viewer.gateway.portal_users.sign_out(request.cookies.get(COOKIE, ""))
    response = RedirectResponse(f"{PORTAL_PATH}/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path=PORTAL_PATH, httponly=True, samesite="strict")
    return response
