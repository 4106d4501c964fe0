"""The notification inbox over PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import channel_notifications
from azotte_gateway.domain.channel_inbox import AppliedEvent, InboxNotification, InboxQuery, InboxState
from azotte_platform.clock import TenantTimes
from azotte_platform.db.tenant_time import own_now
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest

N = channel_notifications.c
_KEY = (N.tenant_id, N.channel, N.notification_id)
# A received notification is leased to the attempt in progress; past its lease, the attempt died with its process.
_PENDING = (InboxState.RECEIVED.value, InboxState.FAILED.value)


def _notification(row: Any) -> InboxNotification:
    return InboxNotification(
        tenant_id=row.tenant_id,
        channel=Channel(row.channel),
        notification_id=row.notification_id,
        app_id=row.app_id,
        body=bytes(row.body),
        headers=dict(row.headers),
        event_time=row.event_time,
        receive_time=row.receive_time,
        state=InboxState(row.state),
        attempt_count=row.attempt_count,
        last_error=row.last_error,
        next_attempt_time=row.next_attempt_time,
        settle_time=row.settle_time,
        applied=[AppliedEvent(**event) for event in row.applied],
    )


def _progress(notification: InboxNotification) -> dict[str, Any]:
    return {
        "state": notification.state.value,
        "attempt_count": notification.attempt_count,
        "last_error": notification.last_error,
        "next_attempt_time": notification.next_attempt_time,
        "settle_time": notification.settle_time,
        "applied": [vars(event) for event in notification.applied],
    }


def _where_key(tenant_id: str, channel: Channel, notification_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(N.tenant_id == tenant_id, N.channel == channel.value, N.notification_id == notification_id)


class PostgresChannelInboxRepository:
    """Implements `ports.ChannelInboxRepository` over one connection."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def add(self, notification: InboxNotification) -> bool:
        result = await self._connection.execute(
            insert(channel_notifications)
            .values(
                tenant_id=notification.tenant_id,
                channel=notification.channel.value,
                notification_id=notification.notification_id,
                app_id=notification.app_id,
                body=notification.body,
                headers=dict(notification.headers),
                event_time=notification.event_time,
                receive_time=notification.receive_time,
                **_progress(notification),
            )
            .on_conflict_do_nothing()
        )
        return result.rowcount == 1

    async def get(
        self, tenant_id: str, channel: Channel, notification_id: str, *, for_update: bool = False
    ) -> InboxNotification | None:
        query = sa.select(channel_notifications).where(_where_key(tenant_id, channel, notification_id))
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return None if row is None else _notification(row)

    async def save(self, notification: InboxNotification) -> None:
        key = _where_key(notification.tenant_id, notification.channel, notification.notification_id)
        await self._connection.execute(sa.update(channel_notifications).where(key).values(**_progress(notification)))

    async def list_page(self, tenant_id: str, page: PageRequest, query: InboxQuery) -> Page[InboxNotification]:
        select = sa.select(channel_notifications).where(N.tenant_id == tenant_id)
        if query.channel is not None:
            select = select.where(N.channel == query.channel.value)
        if query.state is not None:
            select = select.where(N.state == query.state.value)
        if page.after is not None:
            try:
                after = (datetime.fromisoformat(str(page.after_key(0))), str(page.after_key(1)), str(page.after_key(2)))
            except ValueError as error:
                raise InvalidArgument.field("page_token", "is not a token this service issued") from error
            select = select.where(sa.tuple_(N.event_time, N.channel, N.notification_id) < sa.tuple_(*after))
        ordered = select.order_by(N.event_time.desc(), N.channel.desc(), N.notification_id.desc()).limit(page.limit)
        rows = (await self._connection.execute(ordered)).all()
        cut = page.page(rows, lambda row: [row.event_time.isoformat(), row.channel, row.notification_id])
        return Page([_notification(row) for row in cut.items], cut.next_page_token)

    async def claim_due(self, times: TenantTimes, limit: int, lease: timedelta) -> list[InboxNotification]:
        tenant_now = own_now(times, N.tenant_id)
        latest = sa.literal(times.latest, sa.DateTime(timezone=True))
        # NOTE: the oldest event first, so a subscription's notifications apply in the channel's order; SKIP LOCKED
        # shares the work between gateway replicas, and the lease keeps a claimed one from the others meanwhile.
        due = (
            sa.select(*_KEY)
            .where(N.state.in_(_PENDING), N.next_attempt_time <= latest, N.next_attempt_time <= tenant_now)
            .order_by(N.event_time)
            .limit(limit)
            .with_for_update(skip_locked=True)
            .cte("due")
        )
        claimed = (
            await self._connection.execute(
                sa.update(channel_notifications)
                .where(N.tenant_id == due.c.tenant_id, N.channel == due.c.channel)
                .where(N.notification_id == due.c.notification_id)
                .values(next_attempt_time=tenant_now + lease)
                .returning(*channel_notifications.c)
            )
        ).all()
        return sorted((_notification(row) for row in claimed), key=lambda n: n.event_time)

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        lead = sa.func.min(N.next_attempt_time - own_now(times, N.tenant_id))
        query = sa.select(lead).where(N.state.in_(_PENDING))
        value: timedelta | None = (await self._connection.execute(query)).scalar()
        return value
