"""Tenant pages: API keys (the secret shown once), portal users, webhooks (endpoints, delivery log, replay) and the
environment (a sandbox tenant's clock, with its advance control)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import portal_users_pb2 as pu
from azotte.gateway.v1 import tenant_admin_pb2 as ta
from azotte.gateway.v1 import webhooks_pb2 as wh
from azotte_gateway.domain.portal_users import PORTAL_ROLES
from azotte_gateway.entrypoints.portal.forms import read_form
from azotte_gateway.entrypoints.portal.pages.form_values import enum_label, fresh_request_id
from azotte_gateway.entrypoints.portal.rendering import field_errors, render
from azotte_gateway.entrypoints.portal.session import CsrfChecked, PortalViewer, SignedIn
from azotte_gateway.service_layer.admin import MAX_ADVANCE
from azotte_platform.errors import InvalidArgument

router = APIRouter()
KEY_ROLES = (("viewer", "Viewer"), ("operator", "Operator"), ("manager", "Manager"), ("admin", "Admin"))
KEY_ROLES_WITH_PUBLISHABLE = (*KEY_ROLES, ("publishable", "Publishable (device apps)"))
USER_ROLES = tuple((r.value, r.value.capitalize()) for r in reversed(PORTAL_ROLES))
NOTICES = {
    "revoked": "The API key is revoked.",
    "disabled": "The portal user is disabled; their sessions have ended.",
    "replayed": "The message is queued for delivery again.",
    "advanced": "The sandbox clock moved forward; the work that fell due has run.",
}
PAGE = 100


@router.get("/tenant", response_class=HTMLResponse)
async def tenant(request: Request, viewer: SignedIn) -> Response:
    return render(request, viewer, "tenant/index.html")


# --- API keys ---------------------------------------------------------------------------------------------------


async def _keys_page(
    request: Request, viewer: PortalViewer, *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None
) -> Response:
    listed = await viewer.gateway.admin.list_api_keys(
        viewer.caller, ta.ListApiKeysRequest(page_size=PAGE, show_revoked=True)
    )
    return render(
        request,
        viewer,
        "tenant/api_keys.html",
        status_code=400 if errors else 200,
        keys=listed.api_keys,
        roles=KEY_ROLES_WITH_PUBLISHABLE,
        errors=errors or {},
        form=form or {"display_name": "", "role": "viewer"},
        request_id=fresh_request_id(),
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
        label=enum_label,
    )


@router.get("/tenant/api-keys", response_class=HTMLResponse)
async def api_keys(request: Request, viewer: SignedIn) -> Response:
    return await _keys_page(request, viewer)


@router.post("/tenant/api-keys")
async def create_api_key(request: Request, viewer: CsrfChecked) -> Response:
    form = await read_form(request)
    name, role = form.text("display_name"), form.text("role")
    entered = {"display_name": name, "role": role}
    if role not in dict(KEY_ROLES_WITH_PUBLISHABLE):
        return await _keys_page(request, viewer, errors={"role": "choose a role"}, form=entered)
    key_request = ta.CreateApiKeyRequest(
        request_id=form.text("request_id"),
        display_name=name,
        role=ta.ApiKeyRole.Value(f"API_KEY_ROLE_{role.upper()}"),
    )
    try:
        created = await viewer.gateway.admin.create_api_key(viewer.caller, key_request)
    except InvalidArgument as error:
        shown = field_errors(error, fields=entered, renames={"name": "display_name"})
        return await _keys_page(request, viewer, errors=shown, form=entered)
    return render(request, viewer, "tenant/api_key_created.html", key=created.api_key, secret=created.secret)


@router.post("/tenant/api-keys/{api_key_id}/revoke")
async def revoke_api_key(request: Request, viewer: CsrfChecked, api_key_id: str) -> Response:
    form = await read_form(request)
    revoke = ta.RevokeApiKeyRequest(request_id=form.text("request_id"), api_key_id=api_key_id)
    await viewer.gateway.admin.revoke_api_key(viewer.caller, revoke)
    return RedirectResponse("/portal/tenant/api-keys?notice=revoked", status_code=303)


# --- portal users ----------------------------------------------------------------------------------------------


async def _users_page(
    request: Request, viewer: PortalViewer, *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None
) -> Response:
    listed = await viewer.gateway.portal_users.list_portal_users(
        viewer.caller, pu.ListPortalUsersRequest(page_size=PAGE)
    )
    return render(
        request,
        viewer,
        "tenant/portal_users.html",
        status_code=400 if errors else 200,
        users=listed.portal_users,
        roles=USER_ROLES,
        errors=errors or {},
        form=form or {"email": "", "role": "viewer"},
        request_id=fresh_request_id(),
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
        label=enum_label,
    )


@router.get("/tenant/portal-users", response_class=HTMLResponse)
async def portal_users(request: Request, viewer: SignedIn) -> Response:
    return await _users_page(request, viewer)


@router.post("/tenant/portal-users")
async def create_portal_user(request: Request, viewer: CsrfChecked) -> Response:
    form = await read_form(request)
    email, role = form.text("email"), form.text("role")
    entered = {"email": email, "role": role}
    if role not in dict(USER_ROLES):
        return await _users_page(request, viewer, errors={"role": "choose a role"}, form=entered)
    user_request = pu.CreatePortalUserRequest(
        request_id=form.text("request_id"),
        email=email,
        role=pu.PortalUserRole.Value(f"PORTAL_USER_ROLE_{role.upper()}"),
    )
    try:
        created = await viewer.gateway.portal_users.create_portal_user(viewer.caller, user_request)
    except InvalidArgument as error:
        return await _users_page(request, viewer, errors=field_errors(error, fields=entered), form=entered)
    return render(
        request,
        viewer,
        "tenant/portal_user_created.html",
        user=created.portal_user,
        password=created.initial_password,
        label=enum_label,
    )


@router.post("/tenant/portal-users/{portal_user_id}/disable")
async def disable_portal_user(request: Request, viewer: CsrfChecked, portal_user_id: str) -> Response:
    form = await read_form(request)
    disable = pu.DisablePortalUserRequest(request_id=form.text("request_id"), portal_user_id=portal_user_id)
    await viewer.gateway.portal_users.disable_portal_user(viewer.caller, disable)
    return RedirectResponse("/portal/tenant/portal-users?notice=disabled", status_code=303)


# --- webhooks --------------------------------------------------------------------------------------------------


async def _webhooks_page(
    request: Request, viewer: PortalViewer, *, errors: dict[str, str] | None = None, form: dict[str, str] | None = None
) -> Response:
    g, who = viewer.gateway.webhooks, viewer.caller
    endpoints = await g.list_webhook_endpoints(who, wh.ListWebhookEndpointsRequest(page_size=PAGE))
    messages = await g.list_webhook_messages(who, wh.ListWebhookMessagesRequest(page_size=PAGE))
    return render(
        request,
        viewer,
        "tenant/webhooks.html",
        status_code=400 if errors else 200,
        endpoints=endpoints.endpoints,
        messages=messages.messages,
        errors=errors or {},
        form=form or {"url": "", "description": "", "event_types": ""},
        request_id=fresh_request_id(),
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
        label=enum_label,
    )


@router.get("/tenant/webhooks", response_class=HTMLResponse)
async def webhooks(request: Request, viewer: SignedIn) -> Response:
    return await _webhooks_page(request, viewer)


_ENDPOINT_FIELDS = {"endpoint.url": "url", "endpoint.description": "description", "endpoint.event_types": "event_types"}


@router.post("/tenant/webhooks")
async def create_webhook_endpoint(request: Request, viewer: CsrfChecked) -> Response:
    form = await read_form(request)
    entered = {name: form.text(name) for name in ("url", "description", "event_types")}
    types = [t.strip() for t in entered["event_types"].replace("\n", ",").split(",") if t.strip()]
    endpoint = wh.WebhookEndpoint(url=entered["url"], description=entered["description"], event_types=types)
    create = wh.CreateWebhookEndpointRequest(request_id=form.text("request_id"), endpoint=endpoint)
    try:
        created = await viewer.gateway.webhooks.create_webhook_endpoint(viewer.caller, create)
    except InvalidArgument as error:
        shown = field_errors(error, fields=entered, renames=_ENDPOINT_FIELDS)
        return await _webhooks_page(request, viewer, errors=shown, form=entered)
    return render(request, viewer, "tenant/webhook_created.html", endpoint=created.endpoint, secret=created.secret)


@router.post("/tenant/webhooks/messages/{message_id}/replay")
async def replay_webhook_message(request: Request, viewer: CsrfChecked, message_id: str) -> Response:
    form = await read_form(request)
    replay = wh.ReplayWebhookMessageRequest(request_id=form.text("request_id"), message_id=message_id)
    await viewer.gateway.webhooks.replay_webhook_message(viewer.caller, replay)
    return RedirectResponse("/portal/tenant/webhooks?notice=replayed", status_code=303)


# --- environment -----------------------------------------------------------------------------------------------


def _environment(request: Request, viewer: PortalViewer, **context: Any) -> Response:
    return render(
        request,
        viewer,
        "tenant/environment.html",
        status_code=400 if context.get("errors") else 200,
        now=viewer.now(),
        max_days=MAX_ADVANCE.days,
        request_id=fresh_request_id(),
        notice=NOTICES.get(request.query_params.get("notice", ""), ""),
        **{"errors": {}, "days": "", **context},
    )


@router.get("/tenant/environment", response_class=HTMLResponse)
async def environment(request: Request, viewer: SignedIn) -> Response:
    return _environment(request, viewer)


@router.post("/tenant/environment/advance")
async def advance_clock(request: Request, viewer: CsrfChecked) -> Response:
    form = await read_form(request)
    try:
        days = form.integer("days", minimum=1, maximum=MAX_ADVANCE.days) or 0
        advance = gw.AdvanceSandboxClockRequest(request_id=form.text("request_id"))
        advance.advance_by.FromTimedelta(timedelta(days=days))
        await viewer.gateway.admin.advance_sandbox_clock(viewer.caller, advance)
    except InvalidArgument as error:
        shown = field_errors(error, fields=("days",), renames={"advance_by": "days"})
        return _environment(request, viewer, errors=shown, days=form.text("days"))
    return RedirectResponse("/portal/tenant/environment?notice=advanced", status_code=303)
