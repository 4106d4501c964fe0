"""Groups, their members and invites."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_entitlement.adapters.tables import group_invites, group_members, groups
from azotte_entitlement.domain.groups import Group, GroupInvite, GroupMember

# NOTE: the statements of every subscription change are built once: building one costs more than running it.
_ENSURE_GROUP = insert(groups).on_conflict_do_nothing()
_GROUP = sa.select(groups).where(
    groups.c.tenant_id == sa.bindparam("tenant_id"), groups.c.group_id == sa.bindparam("group_id")
)
_LOCKED_GROUP = _GROUP.with_for_update()
_MEMBERS = sa.select(group_members).where(
    group_members.c.tenant_id == sa.bindparam("tenant_id"), group_members.c.group_id == sa.bindparam("group_id")
)


class PostgresGroupRepository:
    """Groups loaded with their members (`ports.GroupRepository`); the group row is the lock serializing seat claims."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def ensure(self, tenant_id: str, group_id: str, owner_customer_id: str, subscription_id: str) -> None:
        """Create the group of a subscription if it does not exist yet."""
        await self._connection.execute(
            _ENSURE_GROUP,
            {
                "tenant_id": tenant_id,
                "group_id": group_id,
                "owner_customer_id": owner_customer_id,
                "subscription_id": subscription_id,
            },
        )

    async def get(self, tenant_id: str, group_id: str, *, lock: bool = False) -> Group | None:
        """The group with its members; with `lock`, its row stays locked (FOR UPDATE) until the transaction ends.

        NOTE: concurrent member adds queue on this lock, so each one counts the seats the previous
        one left and the seat limit holds.
        """
        key = {"tenant_id": tenant_id, "group_id": group_id}
        row = (await self._connection.execute(_LOCKED_GROUP if lock else _GROUP, key)).first()
        return await self._with_members(row) if row is not None else None

    async def of_tenant(self, tenant_id: str) -> list[Group]:
        rows = (await self._connection.execute(sa.select(groups).where(groups.c.tenant_id == tenant_id))).all()
        members = (
            await self._connection.execute(sa.select(group_members).where(group_members.c.tenant_id == tenant_id))
        ).all()
        by_group: dict[str, dict[str, GroupMember]] = {}
        for m in members:
            by_group.setdefault(m.group_id, {})[m.customer_id] = GroupMember(m.customer_id, m.joined_at, m.invite_code)
        return [
            Group(r.group_id, r.tenant_id, r.owner_customer_id, r.subscription_id, by_group.get(r.group_id, {}))
            for r in rows
        ]

    async def of_owner(self, tenant_id: str, owner_customer_id: str) -> list[Group]:
        rows = (
            await self._connection.execute(
                sa.select(groups)
                .where(groups.c.tenant_id == tenant_id, groups.c.owner_customer_id == owner_customer_id)
                .order_by(groups.c.group_id)
            )
        ).all()
        return [await self._with_members(row) for row in rows]

    async def add_member(self, group: Group, member: GroupMember) -> None:
        await self._connection.execute(
            group_members.insert().values(
                tenant_id=group.tenant_id,
                group_id=group.group_id,
                customer_id=member.customer_id,
                joined_at=member.joined_at,
                invite_code=member.invite_code,
            )
        )

    async def remove_member(self, group: Group, customer_id: str) -> None:
        await self._connection.execute(
            sa.delete(group_members).where(
                group_members.c.tenant_id == group.tenant_id,
                group_members.c.group_id == group.group_id,
                group_members.c.customer_id == customer_id,
            )
        )

    async def add_invite(self, group: Group, invite: GroupInvite) -> None:
        await self._connection.execute(
            group_invites.insert().values(
                tenant_id=group.tenant_id,
                code=invite.code,
                group_id=group.group_id,
                created_at=invite.created_at,
                expires_at=invite.expires_at,
            )
        )

    async def group_of_invite(self, tenant_id: str, code: str) -> str | None:
        return (
            await self._connection.execute(
                sa.select(group_invites.c.group_id).where(
                    group_invites.c.tenant_id == tenant_id, group_invites.c.code == code
                )
            )
        ).scalar_one_or_none()

    async def load_invites(self, group: Group) -> None:
        """Fill the group's invites (only the invite flows need them)."""
        rows = await self._connection.execute(
            sa.select(group_invites).where(
                group_invites.c.tenant_id == group.tenant_id, group_invites.c.group_id == group.group_id
            )
        )
        for r in rows:
            group.invites[r.code] = GroupInvite(r.code, r.created_at, r.expires_at, r.accepted_by)

    async def mark_invite_accepted(self, group: Group, code: str, customer_id: str) -> None:
        await self._connection.execute(
            sa.update(group_invites)
            .where(group_invites.c.tenant_id == group.tenant_id, group_invites.c.code == code)
            .values(accepted_by=customer_id)
        )

    async def delete_invite(self, group: Group, code: str) -> None:
        await self._connection.execute(
            sa.delete(group_invites).where(
                group_invites.c.tenant_id == group.tenant_id,
                group_invites.c.group_id == group.group_id,
                group_invites.c.code == code,
            )
        )

    async def _with_members(self, row: Any) -> Group:
        members = await self._connection.execute(_MEMBERS, {"tenant_id": row.tenant_id, "group_id": row.group_id})
        return Group(
            row.group_id,
            row.tenant_id,
            row.owner_customer_id,
            row.subscription_id,
            {m.customer_id: GroupMember(m.customer_id, m.joined_at, m.invite_code) for m in members},
        )
