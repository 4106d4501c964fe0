"""The notification inbox: verified channel notifications stored once, applied, retried, parked, replayed.

NOTE: the store is answered 2xx once its notification is stored (so it stops redelivering), whatever applying it
does: a failed apply is the inbox's to retry, not the store's. A stored notification is leased while it is applied,
so the worker picks it up again if this process dies meanwhile; each attempt verifies the stored body again.
Lifecycle's request ids derive from the notification's id, so no attempt applies an event twice, and lifecycle
ignores an event older than the subscription's last applied one: retries in event-time order, and arrivals in any
order, end in the state the channel's order gives.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from azotte.gateway.v1 import channel_notifications_pb2 as cn
from azotte_gateway.domain.channel_inbox import (
    AppliedEvent,
    InboxNotification,
    InboxQuery,
    InboxState,
    parse_notification_name,
)
from azotte_gateway.domain.channels import RawNotification, TrustedNotification
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.errors import ChannelNotificationNotFound, ChannelNotificationNotReplayable
from azotte_gateway.ports import ChannelNotifications, GatewayUnitOfWork
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import context, convert
from azotte_platform.clock import Clock, tenant_times
from azotte_platform.due_work import DueWorker
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_platform.listing import EQUALITY, Filter
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

log = logging.getLogger(__name__)

# Applies a verified notification's events to lifecycle, in the tenant's scope; what lifecycle answered.
ApplyNotification = Callable[[Channel, TrustedNotification], Awaitable[list[AppliedEvent]]]
# A change to a stored notification, given the time.
Outcome = Callable[[InboxNotification, datetime], None]
T = TypeVar("T")

# How long an attempt may take before the worker may try the notification again.
LEASE = timedelta(minutes=1)
FILTERS = {"channel": EQUALITY, "state": EQUALITY}
_STATES = {state: getattr(cn, f"CHANNEL_NOTIFICATION_STATE_{state.name}") for state in InboxState}


def notification_message(notification: InboxNotification, *, with_body: bool = False) -> cn.ChannelNotification:
    """The API's view of a stored notification (its raw body, headers and applied events only when asked)."""
    message = cn.ChannelNotification(
        name=notification.name,
        channel=notification.channel.value,
        notification_id=notification.notification_id,
        app_id=notification.app_id,
        state=_STATES[notification.state],
        event_time=convert.timestamp(notification.event_time),
        receive_time=convert.timestamp(notification.receive_time),
        attempt_count=notification.attempt_count,
        last_error=notification.last_error,
        next_attempt_time=convert.optional_timestamp(notification.next_attempt_time),
        settle_time=convert.optional_timestamp(notification.settle_time),
    )
    if with_body:
        message.body = notification.body.decode(errors="replace")
        message.headers.update(notification.headers)
        message.events.extend(cn.AppliedChannelEvent(**vars(event)) for event in notification.applied)
    return message


def _query(request: cn.ListChannelNotificationsRequest) -> InboxQuery:
    parsed = Filter.parse(request.filter, FILTERS)
    channel, state = parsed.value("channel"), parsed.value("state")
    channels = {member.value for member in Channel}
    if channel is not None and channel.lower() not in channels:
        raise InvalidArgument.field("filter", f"channel must be one of {', '.join(sorted(channels))}")
    states = {member.name for member in InboxState}
    if state is not None and state.upper() not in states:
        raise InvalidArgument.field("filter", f"state must be one of {', '.join(states)}")
    return InboxQuery(
        channel=None if channel is None else Channel(channel.lower()),
        state=None if state is None else InboxState[state.upper()],
    )


def _error_text(error: Exception) -> str:
    return f"{type(error).__name__}: {error}"


class ChannelInbox(DueWorker):
    """Receives notifications into the inbox and applies them; the worker retries what failed; operators look."""

    def __init__(
        self,
        units: Units[GatewayUnitOfWork],
        clock: Clock,
        notifications: ChannelNotifications,
        apply: ApplyNotification,
        *,
        batch_size: int = 20,
        max_idle_seconds: float = 5.0,
        retry_seconds: float = 2.0,
    ):
        super().__init__(max_idle_seconds=max_idle_seconds, retry_seconds=retry_seconds)
        self._units = units
        self._clock = clock
        self._notifications = notifications
        self._apply = apply
        self._batch_size = batch_size

    # --- the receive path ---------------------------------------------------------------------------

    async def receive(self, channel: Channel, tenant_id: str, raw: RawNotification) -> InboxNotification:
        """Verify a notification, store it once, and apply it now unless it was stored before.

        A notification failing verification is refused (nothing stored). A redelivery answers what the stored one
        stands at; a failed apply is recorded for the worker, and the answer says FAILED.
        """
        trusted = await self._notifications.verify(channel, raw)
        with context.tenant_scope(tenant_id, f"channel:{channel.value}"):
            now = self._clock.now()
            arrived = InboxNotification(
                tenant_id=tenant_id,
                channel=channel,
                notification_id=trusted.notification_id,
                app_id=raw.app_id,
                body=raw.body,
                headers=dict(raw.headers),
                event_time=trusted.event_time or now,
                receive_time=now,
                next_attempt_time=now + LEASE,
            )

            async def store(uow: GatewayUnitOfWork) -> InboxNotification | None:
                if await uow.channel_inbox.add(arrived):
                    return None
                return await uow.channel_inbox.get(tenant_id, channel, trusted.notification_id)

            stored = await self._write(store)
            if stored is not None:
                return stored
            return await self._attempt(arrived, trusted)

    async def _attempt(
        self, notification: InboxNotification, trusted: TrustedNotification | None = None
    ) -> InboxNotification:
        """Apply a stored notification once and record the outcome, in its tenant's scope; without `trusted`, the
        stored body is verified again first (a body that no longer verifies fails like any other attempt)."""
        channel = notification.channel
        try:
            if trusted is None:
                raw = RawNotification(
                    notification.body, notification.headers, notification.tenant_id, notification.app_id, stored=True
                )
                trusted = await self._notifications.verify(channel, raw)
            applied = await self._apply(channel, trusted)
        except Exception as error:
            log.warning(
                "channel notification not applied",
                extra={"channel": channel.value, "notification_id": notification.notification_id},
                exc_info=True,
            )
            reason = _error_text(error)
            return await self._record(notification, lambda n, now: n.fail(reason, now))
        return await self._record(notification, lambda n, now: n.settle(applied, now))

    async def _record(self, notification: InboxNotification, outcome: Outcome) -> InboxNotification:
        async def work(uow: GatewayUnitOfWork) -> InboxNotification:
            current = await uow.channel_inbox.get(
                notification.tenant_id, notification.channel, notification.notification_id, for_update=True
            )
            if current is None or current.state.settled:
                return current or notification
            outcome(current, uow.clock.now())
            await uow.channel_inbox.save(current)
            return current

        return await self._write(work)

    async def _write(self, work: Callable[[GatewayUnitOfWork], Awaitable[T]]) -> T:
        """Run `work` in a unit of work and commit it (the notification's tenant is the current one)."""
        async with self._units.factory() as uow:
            result = await work(uow)
            await uow.commit()
        return result

    # --- the worker ----------------------------------------------------------------------------------

    async def work_due(self) -> int:
        """Apply every notification due now, the oldest event first; return how many attempts were made."""
        total = 0
        while True:
            claimed = await self._claim()
            for notification in claimed:
                with context.tenant_scope(notification.tenant_id, f"channel:{notification.channel.value}"):
                    await self._attempt(notification)
            total += len(claimed)
            if len(claimed) < self._batch_size:
                return total

    async def _claim(self) -> list[InboxNotification]:
        times = tenant_times(self._clock)
        with context.tenant_scope(""):
            return await self._write(lambda uow: uow.channel_inbox.claim_due(times, self._batch_size, LEASE))

    async def next_due_in(self) -> timedelta | None:
        times = tenant_times(self._clock)
        with context.tenant_scope(""):
            async with self._units.factory() as uow:
                return await uow.channel_inbox.next_due_in(times)

    # --- the operator surface ------------------------------------------------------------------------

    async def list_channel_notifications(
        self, caller: Caller, request: cn.ListChannelNotificationsRequest
    ) -> cn.ListChannelNotificationsResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        query = _query(request)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> cn.ListChannelNotificationsResponse:
            paging = PageRequest.of(request, "channel_notifications", tenant_id, query.channel, query.state)
            page = await uow.channel_inbox.list_page(tenant_id, paging, query)
            return cn.ListChannelNotificationsResponse(
                notifications=[notification_message(n) for n in page.items], next_page_token=page.next_page_token
            )

        return await self._units.read(work)

    async def get_channel_notification(
        self, caller: Caller, request: cn.GetChannelNotificationRequest
    ) -> cn.GetChannelNotificationResponse:
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require(request, "name")
        channel, notification_id = parse_notification_name(request.name)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> cn.GetChannelNotificationResponse:
            notification = await uow.channel_inbox.get(tenant_id, channel, notification_id)
            if notification is None:
                raise ChannelNotificationNotFound(f"no channel notification {request.name!r}")
            return cn.GetChannelNotificationResponse(notification=notification_message(notification, with_body=True))

        return await self._units.read(work)

    async def replay_channel_notification(
        self, caller: Caller, request: cn.ReplayChannelNotificationRequest
    ) -> cn.ReplayChannelNotificationResponse:
        """Make a failed or parked notification due now (one more attempt); the worker applies it at once."""
        authorize(caller.principal, Permission.MANAGE_CHANNELS)
        require_mutation(request, "name")
        channel, notification_id = parse_notification_name(request.name)

        async def work(uow: GatewayUnitOfWork, tenant_id: str) -> cn.ReplayChannelNotificationResponse:
            notification = await uow.channel_inbox.get(tenant_id, channel, notification_id, for_update=True)
            if notification is None:
                raise ChannelNotificationNotFound(f"no channel notification {request.name!r}")
            if not notification.replayable:
                raise ChannelNotificationNotReplayable(
                    f"channel notification {request.name!r} is {notification.state.value}: nothing to replay"
                )
            notification.replay(uow.clock.now())
            await uow.channel_inbox.save(notification)
            uow.after_commit(self.wake)
            return cn.ReplayChannelNotificationResponse(notification=notification_message(notification))

        return await self._units.mutate(request, cn.ReplayChannelNotificationResponse, work)
