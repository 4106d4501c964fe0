"""Families: the owner's seats, members and invites (entitlement's groups do the work).

A family is the group of the owner's subscription whose plan has seats, addressed by the owner's
customer id. Lists are small (bounded by the seats), so they are filtered (AIP-160), ordered (AIP-132)
and paged (AIP-158) here, in memory, with page tokens bound to the filter and the order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from azotte.entitlement.v1 import entitlement_pb2 as ent
from azotte.gateway.v1 import families_pb2 as fam
from azotte_gateway.adapters import proto
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import FamilyNotFound
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import COMPARISONS, EQUALITY, Condition, Filter, Ordering
from azotte_platform.paging import MAX_PAGE_SIZE, decode_page_token, encode_page_token, page_size
from azotte_platform.validation import field_names

T = TypeVar("T")
Fields = dict[str, Callable[[T], str]]

MEMBER_FILTERS = {"customer_id": EQUALITY, "join_time": COMPARISONS}
MEMBER_ORDER = ("join_time", "customer_id")
INVITE_FILTERS = {"state": EQUALITY, "create_time": COMPARISONS, "expire_time": COMPARISONS}
INVITE_ORDER = ("create_time", "expire_time")
INVITE_STATES = {"PENDING", "ACCEPTED", "EXPIRED"}
# NOTE: entitlement names the member of Add/RemoveGroupMember `customer_id`; the gateway's request names
# the owner so, and the member `member_customer_id`.
MEMBER_FIELDS = {"customer_id": "member_customer_id"}


@dataclass(frozen=True)
class Families:
    """GetFamily, ListFamilyMembers, Add/RemoveFamilyMember, Create/List/Revoke/AcceptFamilyInvite."""

    peers: Peers
    customers: KnownCustomers

    async def get_family(self, caller: Caller, request: fam.GetFamilyRequest) -> fam.GetFamilyResponse:
        authorize(caller.principal, Permission.READ_FAMILIES, customer_id=request.customer_id)
        require(request, "customer_id")
        return fam.GetFamilyResponse(family=await self._family(caller, request.customer_id))

    async def list_family_members(
        self, caller: Caller, request: fam.ListFamilyMembersRequest
    ) -> fam.ListFamilyMembersResponse:
        authorize(caller.principal, Permission.READ_FAMILIES, customer_id=request.customer_id)
        require(request, "customer_id")
        conditions = Filter.parse(request.filter, MEMBER_FILTERS)
        ordering = Ordering.parse(request.order_by, MEMBER_ORDER, "join_time")
        family = await self._family(caller, request.customer_id)
        members: list[fam.FamilyMember] = []
        token = ""
        while True:
            answer = await self.peers.entitlement.ListGroupMembers(
                ent.ListGroupMembersRequest(group_id=family.family_id, page_size=MAX_PAGE_SIZE, page_token=token)
            )
            members.extend(proto.family_member(m) for m in answer.members)
            token = answer.next_page_token
            if not token:
                break
        fields: Fields[fam.FamilyMember] = {
            "customer_id": lambda m: m.customer_id,
            "join_time": lambda m: _time(m.join_time.ToDatetime(UTC)),
        }
        query = ("family_members", request.customer_id, conditions.canonical(), ordering.text)
        page, next_token = _page(members, conditions, ordering, fields, "customer_id", request, query)
        return fam.ListFamilyMembersResponse(members=page, next_page_token=next_token, family=family)

    async def add_family_member(
        self, caller: Caller, request: fam.AddFamilyMemberRequest
    ) -> fam.AddFamilyMemberResponse:
        authorize(caller.principal, Permission.MANAGE_FAMILIES, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "member_customer_id")
        family = await self._family(caller, request.customer_id)
        await self.customers.require(caller.principal.tenant_id, request.member_customer_id)
        with field_names(MEMBER_FIELDS):
            answer = await self.peers.entitlement.AddGroupMember(
                ent.AddGroupMemberRequest(
                    request_id=request.request_id, group_id=family.family_id, customer_id=request.member_customer_id
                )
            )
        joined = await self._family(caller, request.customer_id, group_id=family.family_id)
        return fam.AddFamilyMemberResponse(family=joined, member=proto.family_member(answer.member))

    async def remove_family_member(
        self, caller: Caller, request: fam.RemoveFamilyMemberRequest
    ) -> fam.RemoveFamilyMemberResponse:
        authorize(caller.principal, Permission.MANAGE_FAMILIES, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "member_customer_id")
        family = await self._family(caller, request.customer_id)
        with field_names(MEMBER_FIELDS):
            answer = await self.peers.entitlement.RemoveGroupMember(
                ent.RemoveGroupMemberRequest(
                    request_id=request.request_id, group_id=family.family_id, customer_id=request.member_customer_id
                )
            )
        return fam.RemoveFamilyMemberResponse(member=proto.family_member(answer.member))

    async def create_family_invite(
        self, caller: Caller, request: fam.CreateFamilyInviteRequest
    ) -> fam.CreateFamilyInviteResponse:
        authorize(caller.principal, Permission.INVITE_FAMILY_MEMBERS, customer_id=request.customer_id)
        require_mutation(request, "customer_id")
        family = await self._family(caller, request.customer_id)
        create = ent.CreateGroupInviteRequest(request_id=request.request_id, group_id=family.family_id)
        if request.HasField("expire_time"):
            create.expire_time.CopyFrom(request.expire_time)
        answer = await self.peers.entitlement.CreateGroupInvite(create)
        return fam.CreateFamilyInviteResponse(invite=proto.family_invite(answer.invite))

    async def list_family_invites(
        self, caller: Caller, request: fam.ListFamilyInvitesRequest
    ) -> fam.ListFamilyInvitesResponse:
        authorize(caller.principal, Permission.READ_FAMILIES, customer_id=request.customer_id)
        require(request, "customer_id")
        conditions = Filter.parse(request.filter, INVITE_FILTERS)
        state = conditions.value("state")
        if state is not None and state not in INVITE_STATES:
            raise InvalidArgument.field("filter", f"state must be one of {', '.join(sorted(INVITE_STATES))}")
        ordering = Ordering.parse(request.order_by, INVITE_ORDER, "create_time desc")
        family = await self._family(caller, request.customer_id)
        invites: list[fam.FamilyInvite] = []
        token = ""
        while True:
            answer = await self.peers.entitlement.ListGroupInvites(
                ent.ListGroupInvitesRequest(group_id=family.family_id, page_size=MAX_PAGE_SIZE, page_token=token)
            )
            invites.extend(proto.family_invite(i) for i in answer.invites)
            token = answer.next_page_token
            if not token:
                break
        fields: Fields[fam.FamilyInvite] = {
            "code": lambda i: i.code,
            "state": lambda i: fam.FamilyInviteState.Name(i.state).removeprefix("FAMILY_INVITE_STATE_"),
            "create_time": lambda i: _time(i.create_time.ToDatetime(UTC)),
            "expire_time": lambda i: _time(i.expire_time.ToDatetime(UTC)),
        }
        query = ("family_invites", request.customer_id, conditions.canonical(), ordering.text)
        page, next_token = _page(invites, conditions, ordering, fields, "code", request, query)
        return fam.ListFamilyInvitesResponse(invites=page, next_page_token=next_token)

    async def revoke_family_invite(
        self, caller: Caller, request: fam.RevokeFamilyInviteRequest
    ) -> fam.RevokeFamilyInviteResponse:
        authorize(caller.principal, Permission.INVITE_FAMILY_MEMBERS, customer_id=request.customer_id)
        require_mutation(request, "customer_id", "code")
        family = await self._family(caller, request.customer_id)
        answer = await self.peers.entitlement.RevokeGroupInvite(
            ent.RevokeGroupInviteRequest(request_id=request.request_id, group_id=family.family_id, code=request.code)
        )
        return fam.RevokeFamilyInviteResponse(invite=proto.family_invite(answer.invite))

    async def accept_family_invite(
        self, caller: Caller, request: fam.AcceptFamilyInviteRequest
    ) -> fam.AcceptFamilyInviteResponse:
        # NOTE: the invitee accepts for themselves: a key bound to a customer accepts only for it.
        authorize(caller.principal, Permission.ACCEPT_FAMILY_INVITES, customer_id=request.customer_id)
        require_mutation(request, "code", "customer_id")
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.entitlement.AcceptGroupInvite(
            ent.AcceptGroupInviteRequest(
                request_id=request.request_id, code=request.code, customer_id=request.customer_id
            )
        )
        seats = await self.peers.entitlement.ListGroupMembers(
            ent.ListGroupMembersRequest(group_id=answer.group_id, page_size=1)
        )
        family = await self._family(caller, seats.owner_customer_id, group_id=answer.group_id)
        return fam.AcceptFamilyInviteResponse(family=family, member=proto.family_member(answer.member))

    async def _family(self, caller: Caller, owner_customer_id: str, *, group_id: str = "") -> fam.Family:
        """The owner's family: the group with seats now (else the fullest); FAMILY_NOT_FOUND without one."""
        await self.customers.require(caller.principal.tenant_id, owner_customer_id)
        groups: list[ent.Group] = []
        token = ""
        while True:
            answer = await self.peers.entitlement.ListGroups(
                ent.ListGroupsRequest(owner_customer_id=owner_customer_id, page_size=MAX_PAGE_SIZE, page_token=token)
            )
            groups.extend(answer.groups)
            token = answer.next_page_token
            if not token:
                break
        if group_id:
            groups = [g for g in groups if g.group_id == group_id]
        if not groups:
            raise FamilyNotFound(f"customer {owner_customer_id!r} owns no plan with seats")
        # NOTE: an owner whose plan changed may own an old group too; the live one (seats now) wins,
        # then the one with members.
        chosen = max(groups, key=lambda g: (g.seat_limit, g.seats_used, g.group_id))
        return proto.family(chosen)


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


def _page(
    items: list[T],
    conditions: Filter,
    ordering: Ordering,
    fields: Fields[T],
    unique: str,
    request: fam.ListFamilyMembersRequest | fam.ListFamilyInvitesRequest,
    query: Sequence[object],
) -> tuple[list[T], str]:
    """One page of `items` matching the filter, in the order asked (`unique` breaks ties), and the next token."""
    size = page_size(request.page_size)
    after = decode_page_token(request.page_token, query)
    tests = [_test(condition, fields) for condition in conditions.conditions]
    chosen = [item for item in items if all(test(item) for test in tests)]
    keys = [(fields[name], desc) for name, desc in ordering.keys]

    def key_of(item: T) -> list[str]:
        return [value(item) for value, _ in keys] + [fields[unique](item)]

    # NOTE: stable sorts from the last key to the first give a mixed ascending/descending order.
    chosen.sort(key=fields[unique])
    for value, desc in reversed(keys):
        chosen.sort(key=value, reverse=desc)
    if after is not None:
        directions = [desc for _, desc in keys] + [False]
        chosen = [item for item in chosen if _comes_after(key_of(item), after, directions)]
    page = chosen[:size]
    token = encode_page_token(key_of(page[-1]), query) if len(chosen) > size else ""
    return page, token


def _comes_after(key: list[str], last: list[object], descending: list[bool]) -> bool:
    for value, previous, desc in zip(key, last, descending, strict=False):
        if value != str(previous):
            return value < str(previous) if desc else value > str(previous)
    return False


def _test(condition: Condition, fields: Fields[T]) -> Callable[[T], bool]:
    """Whether an item meets one condition; times compare as RFC 3339 instants."""
    value_of = fields[condition.field]
    wanted = condition.value
    if condition.field.endswith("_time"):
        try:
            moment = datetime.fromisoformat(wanted.replace("Z", "+00:00"))
        except ValueError as error:
            raise InvalidArgument.field(
                "filter", f"{condition.field} needs an RFC 3339 time, not {wanted!r}"
            ) from error
        if moment.tzinfo is None:
            raise InvalidArgument.field("filter", f"{condition.field} needs a time with its offset, e.g. Z")
        wanted = _time(moment)
    compare: dict[str, Callable[[str, str], bool]] = {
        "=": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        "<=": lambda a, b: a <= b,
        ">": lambda a, b: a > b,
        ">=": lambda a, b: a >= b,
    }
    op = compare[condition.op]
    return lambda item: op(value_of(item), wanted)
