"""Webhook endpoints, messages and attempts over PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_gateway.adapters.tables import webhook_attempts, webhook_endpoints, webhook_messages
from azotte_gateway.domain.webhooks import (
    DeliveryAttempt,
    DisabledReason,
    MessageQuery,
    MessageState,
    WebhookEndpoint,
    WebhookMessage,
)
from azotte_platform.clock import TenantTimes
from azotte_platform.db.tenant_time import own_now
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest

E = webhook_endpoints.c
M = webhook_messages.c
A = webhook_attempts.c


def _endpoint(row: Any) -> WebhookEndpoint:
    return WebhookEndpoint(
        tenant_id=row.tenant_id,
        id=row.endpoint_id,
        url=row.url,
        description=row.description,
        event_types=tuple(row.event_types),
        secret=row.secret,
        sandbox=row.sandbox,
        create_time=row.create_time,
        update_time=row.update_time,
        enabled=row.enabled,
        disabled_reason=DisabledReason(row.disabled_reason) if row.disabled_reason else None,
        disable_time=row.disable_time,
        previous_secret=row.previous_secret,
        previous_secret_expire_time=row.previous_secret_expire_time,
        failing_since=row.failing_since,
    )


def _endpoint_values(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.event_types),
        "secret": endpoint.secret,
        "previous_secret": endpoint.previous_secret,
        "previous_secret_expire_time": endpoint.previous_secret_expire_time,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason.value if endpoint.disabled_reason else None,
        "disable_time": endpoint.disable_time,
        "failing_since": endpoint.failing_since,
        "update_time": endpoint.update_time,
    }


def _message(row: Any) -> WebhookMessage:
    return WebhookMessage(
        tenant_id=row.tenant_id,
        id=row.message_id,
        endpoint_id=row.endpoint_id,
        event_id=row.event_id,
        event_type=row.event_type,
        body=row.body,
        create_time=row.create_time,
        state=MessageState(row.state),
        attempt_count=row.attempt_count,
        round_attempts=row.round_attempts,
        next_attempt_time=row.next_attempt_time,
    )


def _attempt(row: Any) -> DeliveryAttempt:
    return DeliveryAttempt(
        tenant_id=row.tenant_id,
        message_id=row.message_id,
        endpoint_id=row.endpoint_id,
        attempt_number=row.attempt_number,
        attempt_time=row.attempt_time,
        status_code=row.status_code,
        duration_ms=row.duration_ms,
        error=row.error,
        response_excerpt=row.response_excerpt,
        next_attempt_time=row.next_attempt_time,
    )


def _token_time(value: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as error:
        raise InvalidArgument.field("page_token", "is not a token this service issued") from error


class PostgresWebhookRepository:
    """Implements `ports.WebhookRepository` over one connection.

    `enabled` holds the enabled endpoints read in the transaction, by tenant: a fan-out of many events of a
    tenant reads them once; a change to the tenant's endpoints in the transaction drops what was read.
    """

    def __init__(self, connection: AsyncConnection, enabled: dict[str, list[WebhookEndpoint]] | None = None):
        self._connection = connection
        self._enabled = {} if enabled is None else enabled

    async def add_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._enabled.pop(endpoint.tenant_id, None)
        await self._connection.execute(
            webhook_endpoints.insert().values(
                tenant_id=endpoint.tenant_id,
                endpoint_id=endpoint.id,
                sandbox=endpoint.sandbox,
                create_time=endpoint.create_time,
                **_endpoint_values(endpoint),
            )
        )

    async def get_endpoint(
        self, tenant_id: str, endpoint_id: str, *, for_update: bool = False
    ) -> WebhookEndpoint | None:
        query = sa.select(webhook_endpoints).where(E.tenant_id == tenant_id, E.endpoint_id == endpoint_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return _endpoint(row) if row else None

    async def list_endpoints(self, tenant_id: str, page: PageRequest) -> Page[WebhookEndpoint]:
        query = sa.select(webhook_endpoints).where(E.tenant_id == tenant_id)
        if page.after is not None:
            after = (_token_time(page.after_key(0)), str(page.after_key(1)))
            query = query.where(sa.tuple_(E.create_time, E.endpoint_id) > sa.tuple_(*after))
        rows = (await self._connection.execute(query.order_by(E.create_time, E.endpoint_id).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.create_time.isoformat(), row.endpoint_id])
        return Page([_endpoint(row) for row in cut.items], cut.next_page_token)

    async def enabled_endpoints(self, tenant_id: str) -> list[WebhookEndpoint]:
        enabled = self._enabled.get(tenant_id)
        if enabled is None:
            query = sa.select(webhook_endpoints).where(E.tenant_id == tenant_id, E.enabled)
            enabled = self._enabled[tenant_id] = [
                _endpoint(row) for row in (await self._connection.execute(query)).all()
            ]
        return list(enabled)

    async def save_endpoint(self, endpoint: WebhookEndpoint) -> None:
        self._enabled.pop(endpoint.tenant_id, None)
        await self._connection.execute(
            sa.update(webhook_endpoints)
            .where(E.tenant_id == endpoint.tenant_id, E.endpoint_id == endpoint.id)
            .values(**_endpoint_values(endpoint))
        )

    async def delete_endpoint(self, tenant_id: str, endpoint_id: str) -> bool:
        self._enabled.pop(tenant_id, None)
        result = await self._connection.execute(
            sa.delete(webhook_endpoints)
            .where(E.tenant_id == tenant_id, E.endpoint_id == endpoint_id)
            .returning(E.endpoint_id)
        )
        return result.first() is not None

    async def add_messages(self, messages: Sequence[WebhookMessage]) -> None:
        if not messages:
            return
        rows = [
            {
                "tenant_id": m.tenant_id,
                "message_id": m.id,
                "endpoint_id": m.endpoint_id,
                "event_id": m.event_id,
                "event_type": m.event_type,
                "body": m.body,
                "create_time": m.create_time,
                "state": m.state.value,
                "attempt_count": m.attempt_count,
                "round_attempts": m.round_attempts,
                "next_attempt_time": m.next_attempt_time,
            }
            for m in messages
        ]
        await self._connection.execute(insert(webhook_messages).values(rows).on_conflict_do_nothing())

    async def get_message(self, tenant_id: str, message_id: str, *, for_update: bool = False) -> WebhookMessage | None:
        query = sa.select(webhook_messages).where(M.tenant_id == tenant_id, M.message_id == message_id)
        if for_update:
            query = query.with_for_update()
        row = (await self._connection.execute(query)).first()
        return _message(row) if row else None

    async def save_message(self, message: WebhookMessage) -> None:
        await self._connection.execute(
            sa.update(webhook_messages)
            .where(M.tenant_id == message.tenant_id, M.message_id == message.id)
            .values(
                state=message.state.value,
                attempt_count=message.attempt_count,
                round_attempts=message.round_attempts,
                next_attempt_time=message.next_attempt_time,
            )
        )

    async def list_messages(self, tenant_id: str, page: PageRequest, query: MessageQuery) -> Page[WebhookMessage]:
        select = sa.select(webhook_messages).where(M.tenant_id == tenant_id)
        conditions = (
            (query.endpoint_id, M.endpoint_id),
            (query.event_type, M.event_type),
            (query.event_id, M.event_id),
            (query.state.value if query.state else None, M.state),
        )
        for value, column in conditions:
            if value is not None:
                select = select.where(column == value)
        if query.created_from is not None:
            select = select.where(M.create_time >= query.created_from)
        if query.created_before is not None:
            select = select.where(M.create_time < query.created_before)
        if page.after is not None:
            after = (_token_time(page.after_key(0)), str(page.after_key(1)))
            select = select.where(sa.tuple_(M.create_time, M.message_id) < sa.tuple_(*after))
        ordered = select.order_by(M.create_time.desc(), M.message_id.desc()).limit(page.limit)
        rows = (await self._connection.execute(ordered)).all()
        cut = page.page(rows, lambda row: [row.create_time.isoformat(), row.message_id])
        return Page([_message(row) for row in cut.items], cut.next_page_token)

    async def add_attempts(self, attempts: Sequence[DeliveryAttempt]) -> None:
        if not attempts:
            return
        rows = [
            {
                "tenant_id": a.tenant_id,
                "message_id": a.message_id,
                "attempt_number": a.attempt_number,
                "endpoint_id": a.endpoint_id,
                "attempt_time": a.attempt_time,
                "status_code": a.status_code,
                "duration_ms": a.duration_ms,
                "error": a.error,
                "response_excerpt": a.response_excerpt,
                "next_attempt_time": a.next_attempt_time,
            }
            for a in attempts
        ]
        await self._connection.execute(webhook_attempts.insert().values(rows))

    async def list_attempts(self, tenant_id: str, message_id: str, page: PageRequest) -> Page[DeliveryAttempt]:
        query = sa.select(webhook_attempts).where(A.tenant_id == tenant_id, A.message_id == message_id)
        if page.after is not None:
            try:
                after = int(page.after_key(0))
            except (TypeError, ValueError) as error:
                raise InvalidArgument.field("page_token", "is not a token this service issued") from error
            query = query.where(A.attempt_number > after)
        rows = (await self._connection.execute(query.order_by(A.attempt_number).limit(page.limit))).all()
        cut = page.page(rows, lambda row: [row.attempt_number])
        return Page([_attempt(row) for row in cut.items], cut.next_page_token)

    async def claim_due(
        self, times: TenantTimes, limit: int, lease: timedelta
    ) -> list[tuple[WebhookMessage, WebhookEndpoint]]:
        tenant_now = own_now(times, M.tenant_id)
        latest = sa.literal(times.latest, sa.DateTime(timezone=True))
        # NOTE: SKIP LOCKED lets several gateway replicas deliver side by side; each message goes to one of them.
        due = (
            sa.select(M.tenant_id, M.message_id)
            .join(webhook_endpoints, sa.and_(E.tenant_id == M.tenant_id, E.endpoint_id == M.endpoint_id))
            .where(
                M.state == MessageState.PENDING.value, M.next_attempt_time <= latest, M.next_attempt_time <= tenant_now
            )
            .where(E.enabled)
            .order_by(M.next_attempt_time)
            .limit(limit)
            .with_for_update(of=webhook_messages, skip_locked=True)
            .cte("due")
        )
        claimed = (
            await self._connection.execute(
                sa.update(webhook_messages)
                .where(M.tenant_id == due.c.tenant_id, M.message_id == due.c.message_id)
                .values(next_attempt_time=tenant_now + lease)
                .returning(*webhook_messages.c)
            )
        ).all()
        if not claimed:
            return []
        endpoint_keys = {(row.tenant_id, row.endpoint_id) for row in claimed}
        endpoints_query = sa.select(webhook_endpoints).where(
            sa.tuple_(E.tenant_id, E.endpoint_id).in_([sa.tuple_(t, e) for t, e in endpoint_keys])
        )
        endpoints = {
            (row.tenant_id, row.endpoint_id): _endpoint(row)
            for row in (await self._connection.execute(endpoints_query)).all()
        }
        return [(_message(row), endpoints[(row.tenant_id, row.endpoint_id)]) for row in claimed]

    async def next_due_in(self, times: TenantTimes) -> timedelta | None:
        lead = sa.func.min(M.next_attempt_time - own_now(times, M.tenant_id))
        query = (
            sa.select(lead)
            .join(webhook_endpoints, sa.and_(E.tenant_id == M.tenant_id, E.endpoint_id == M.endpoint_id))
            .where(M.state == MessageState.PENDING.value, E.enabled)
        )
        earliest: timedelta | None = await self._connection.scalar(query)
        return earliest

    async def fail_pending(self, tenant_id: str, endpoint_id: str) -> None:
        await self._connection.execute(
            sa.update(webhook_messages)
            .where(M.tenant_id == tenant_id, M.endpoint_id == endpoint_id, M.state == MessageState.PENDING.value)
            .values(state=MessageState.FAILED.value, next_attempt_time=None)
        )

    async def replay_range(
        self,
        tenant_id: str,
        endpoint_id: str,
        start: datetime,
        end: datetime,
        *,
        include_delivered: bool,
        now: datetime,
    ) -> int:
        states = [MessageState.FAILED.value]
        if include_delivered:
            states += [MessageState.DELIVERED.value, MessageState.PENDING.value]
        result = await self._connection.execute(
            sa.update(webhook_messages)
            .where(
                M.tenant_id == tenant_id,
                M.endpoint_id == endpoint_id,
                M.create_time >= start,
                M.create_time < end,
                M.state.in_(states),
            )
            .values(state=MessageState.PENDING.value, round_attempts=0, next_attempt_time=now)
            .returning(M.message_id)
        )
        return len(result.all())
