"""REST endpoints of portal users: a tenant's backend provisions the people who sign in to its portal."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import Field

from azotte.gateway.v1 import portal_users_pb2 as pu
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["portal users"])


class PortalUserBody(MutatingBody):
    email: str = Field(min_length=1, max_length=254)
    role: Literal["admin", "manager", "operator", "viewer"]


@router.get(
    "/v1/portal-users", summary="List the tenant's portal users (admins)", **answers(pu.ListPortalUsersResponse)
)
async def list_portal_users(who: Who, g: Gw, listing: Listing) -> JSON:
    request = pu.ListPortalUsersRequest(page_size=listing.page_size, page_token=listing.page_token)
    return js(await g.portal_users.list_portal_users(who, request))


@router.post(
    "/v1/portal-users",
    summary="Create a portal user (admins; its first password is shown once)",
    **answers(pu.CreatePortalUserResponse),
)
async def create_portal_user(body: PortalUserBody, who: Who, g: Gw) -> JSON:
    request = pu.CreatePortalUserRequest(
        request_id=body.request_id,
        email=body.email,
        role=pu.PortalUserRole.Value(f"PORTAL_USER_ROLE_{body.role.upper()}"),
    )
    return js(await g.portal_users.create_portal_user(who, request))


@router.post(
    "/v1/portal-users/{portal_user_id}:disable",
    summary="Disable a portal user (admins; its sessions end)",
    **answers(pu.DisablePortalUserResponse),
)
async def disable_portal_user(portal_user_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = pu.DisablePortalUserRequest(request_id=body.request_id, portal_user_id=portal_user_id)
    return js(await g.portal_users.disable_portal_user(who, request))
