"""REST endpoints of families: the owner's seats, members and invites."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import Field

from azotte.gateway.v1 import families_pb2 as fam
from azotte_gateway.entrypoints.rest.common import JSON, Gw, Listing, MutatingBody, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers
from azotte_platform import convert

router = APIRouter(tags=["families"])

_ABOUT = (
    "A family is the owner's subscription whose plan has seats, addressed by the owner's customer id. The owner "
    "takes one seat; each member and each pending invite takes one more."
)


class InviteBody(MutatingBody):
    expire_time: datetime | None = Field(default=None, description="Unset: the invite works for 7 days.")


class RevokeInviteBody(MutatingBody):
    pass


class RemoveMemberBody(MutatingBody):
    pass


class AddMemberBody(MutatingBody):
    use_case_rules = {**MutatingBody.use_case_rules, "member_customer_id": {"minLength": 1}}
    member_customer_id: str = Field(default="", description="The customer joining, of the same tenant.")


class AcceptInviteBody(MutatingBody):
    use_case_rules = {**MutatingBody.use_case_rules, "customer_id": {"minLength": 1}}
    customer_id: str = Field(default="", description="The invitee joining: their own customer id.")


@router.get(
    "/v1/customers/{customer_id}/family",
    summary="The owner's family: seat limit, seats used, pending invites",
    description=_ABOUT + " 404 `FAMILY_NOT_FOUND` when the customer owns no plan with seats.",
    **answers(fam.GetFamilyResponse),
)
async def get_family(customer_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.families.get_family(who, fam.GetFamilyRequest(customer_id=customer_id)))


@router.get(
    "/v1/customers/{customer_id}/family/members",
    summary="The family's members, each with their access to the shared features now",
    description="`filter` (AIP-160): `customer_id` (=) and `join_time` (=, !=, <, <=, >, >=, RFC 3339), joined by "
    '`AND`, e.g. `join_time >= "2026-01-01T00:00:00Z"`. `order_by` (AIP-132): `join_time` (the default) or '
    "`customer_id`, each optionally `desc`. A page token works only with the filter and order it was issued for.",
    **answers(fam.ListFamilyMembersResponse),
)
async def list_family_members(customer_id: str, who: Who, g: Gw, listing: Listing) -> JSON:
    request = fam.ListFamilyMembersRequest(customer_id=customer_id, **listing.fields())
    return js(await g.families.list_family_members(who, request))


@router.post(
    "/v1/customers/{customer_id}/family/members",
    summary="Add a customer to the family without an invite (support acting for the owner)",
    description="Needs `manage_families` (operator and up). The member takes a free seat: 409 `SEAT_LIMIT_REACHED` "
    "when none is left (pending invites hold theirs), `ALREADY_A_MEMBER`, `OWNER_IS_NOT_A_MEMBER`.",
    **answers(fam.AddFamilyMemberResponse),
)
async def add_family_member(customer_id: str, body: AddMemberBody, who: Who, g: Gw) -> JSON:
    request = fam.AddFamilyMemberRequest(
        request_id=body.request_id, customer_id=customer_id, member_customer_id=body.member_customer_id
    )
    return js(await g.families.add_family_member(who, request))


@router.post(
    "/v1/customers/{customer_id}/family/members/{member_customer_id}:remove",
    summary="Remove a member: they lose the shared features and their seat is free again",
    **answers(fam.RemoveFamilyMemberResponse),
)
async def remove_family_member(
    customer_id: str, member_customer_id: str, body: RemoveMemberBody, who: Who, g: Gw
) -> JSON:
    request = fam.RemoveFamilyMemberRequest(
        request_id=body.request_id, customer_id=customer_id, member_customer_id=member_customer_id
    )
    return js(await g.families.remove_family_member(who, request))


@router.post(
    "/v1/customers/{customer_id}/family/invites",
    summary="Invite someone to the family (a single-use code holding a seat)",
    description="The code holds a seat until accepted, revoked or expired (7 days unless `expire_time` says). "
    "409 `SEAT_LIMIT_REACHED` when the owner, the members and the pending invites take every seat.",
    **answers(fam.CreateFamilyInviteResponse),
)
async def create_family_invite(customer_id: str, body: InviteBody, who: Who, g: Gw) -> JSON:
    request = fam.CreateFamilyInviteRequest(request_id=body.request_id, customer_id=customer_id)
    if body.expire_time is not None:
        request.expire_time.CopyFrom(convert.timestamp(body.expire_time))
    return js(await g.families.create_family_invite(who, request))


@router.get(
    "/v1/customers/{customer_id}/family/invites",
    summary="The family's invites: pending, accepted and expired",
    description="`filter` (AIP-160): `state` (= PENDING, ACCEPTED or EXPIRED), `create_time` and `expire_time` "
    "(=, !=, <, <=, >, >=, RFC 3339), joined by `AND`, e.g. `state = PENDING`. `order_by` (AIP-132): "
    "`create_time` or `expire_time`, each optionally `desc`; default `create_time desc`. A page token works only "
    "with the filter and order it was issued for. Revoked invites are gone.",
    **answers(fam.ListFamilyInvitesResponse),
)
async def list_family_invites(
    customer_id: str,
    who: Who,
    g: Gw,
    listing: Listing,
) -> JSON:
    request = fam.ListFamilyInvitesRequest(customer_id=customer_id, **listing.fields())
    return js(await g.families.list_family_invites(who, request))


@router.post(
    "/v1/customers/{customer_id}/family/invites/{code}:revoke",
    summary="Revoke a pending invite: the code stops working and its seat is free again",
    **answers(fam.RevokeFamilyInviteResponse),
)
async def revoke_family_invite(customer_id: str, code: str, body: RevokeInviteBody, who: Who, g: Gw) -> JSON:
    request = fam.RevokeFamilyInviteRequest(request_id=body.request_id, customer_id=customer_id, code=code)
    return js(await g.families.revoke_family_invite(who, request))


@router.post(
    "/v1/family-invites/{code}:accept",
    summary="Join a family with an invite code, as the invitee's own customer",
    description="409 `INVITE_EXPIRED` or `INVITE_ALREADY_USED`; 404 `INVITE_NOT_FOUND` for an unknown or revoked "
    "code. A publishable key accepts only for the customer its customer token binds it to.",
    **answers(fam.AcceptFamilyInviteResponse),
)
async def accept_family_invite(code: str, body: AcceptInviteBody, who: Who, g: Gw) -> JSON:
    request = fam.AcceptFamilyInviteRequest(request_id=body.request_id, code=code, customer_id=body.customer_id)
    return js(await g.families.accept_family_invite(who, request))
