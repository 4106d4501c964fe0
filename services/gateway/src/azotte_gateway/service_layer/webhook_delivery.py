"""Webhooks in motion: events become messages (fan-out), and the delivery worker sends what is due.

NOTE: at least once, never blocking the producers: the fan-out only writes messages (the queue of pending
attempts) in the consumer's transaction, and the worker sends them later. A message is claimed with
FOR UPDATE SKIP LOCKED and leased (its next attempt pushed a minute ahead) before it is sent, so gateway
replicas share the work and a replica that dies mid-send leaves the message to another after the lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from azotte_gateway.domain.webhooks import (
    DeliveryAttempt,
    DeliveryResult,
    MessageState,
    NextStep,
    WebhookEndpoint,
    WebhookMessage,
    message_id,
    next_step,
    signature_header,
)
from azotte_gateway.ports import WebhookSender, WebhooksUnitOfWork
from azotte_gateway.service_layer.webhooks import disable_endpoint
from azotte_platform.clock import Clock, now_of, shared_now, tenant_times
from azotte_platform.due_work import DueWorker
from azotte_platform.events.envelope import ReceivedEvent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookFanout:
    """Turns each event of the bus into one message per enabled endpoint of its tenant that wants it."""

    render: Callable[[ReceivedEvent], str]
    queued: Callable[[], None]

    async def handle(self, uow: WebhooksUnitOfWork, event: ReceivedEvent) -> None:
        enabled = await uow.webhooks.enabled_endpoints(event.tenant_id)
        endpoints = [e for e in enabled if e.wants(event.type, event.time)]
        if not endpoints:
            return
        now = now_of(uow.clock, event.tenant_id)
        body = self.render(event)
        messages = [
            WebhookMessage(
                tenant_id=event.tenant_id,
                id=message_id(endpoint.id, event.id),
                endpoint_id=endpoint.id,
                event_id=event.id,
                event_type=event.type,
                body=body,
                create_time=now,
                next_attempt_time=now,
            )
            for endpoint in endpoints
        ]
        await uow.webhooks.add_messages(messages)
        uow.after_commit(self.queued)


@dataclass(frozen=True)
class _Sent:
    message: WebhookMessage
    endpoint: WebhookEndpoint
    result: DeliveryResult
    attempt_time: datetime


def _attempt(sent: _Sent, endpoint_id: str, number: int, next_attempt_time: datetime | None) -> DeliveryAttempt:
    result = sent.result
    return DeliveryAttempt(
        tenant_id=sent.message.tenant_id,
        message_id=sent.message.id,
        endpoint_id=endpoint_id,
        attempt_number=number,
        attempt_time=sent.attempt_time,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        error=result.error,
        response_excerpt=result.response_excerpt,
        next_attempt_time=next_attempt_time,
    )


class WebhookDelivery(DueWorker):
    """Sends every message due by its tenant's clock, and records each attempt and what follows it."""

    def __init__(
        self,
        uow_factory: Callable[[], WebhooksUnitOfWork],
        clock: Clock,
        sender: WebhookSender,
        *,
        batch_size: int = 50,
        lease: timedelta = timedelta(seconds=60),
        max_idle_seconds: float = 5.0,
        retry_seconds: float = 2.0,
        draw: Callable[[], float] = random.random,
    ):
        super().__init__(max_idle_seconds=max_idle_seconds, retry_seconds=retry_seconds)
        self._uow_factory = uow_factory
        self._clock = clock
        self._sender = sender
        self._batch_size = batch_size
        self._lease = lease
        self._draw = draw

    async def work_due(self) -> int:
        """Send every message due now, batch by batch; return how many attempts were made."""
        total = 0
        while True:
            async with self._uow_factory() as uow:
                claimed = await uow.webhooks.claim_due(tenant_times(self._clock), self._batch_size, self._lease)
                await uow.commit()
            if not claimed:
                return total
            sent = await asyncio.gather(*(self._send(message, endpoint) for message, endpoint in claimed))
            async with self._uow_factory() as uow:
                await self._record(uow, sent)
                await uow.commit()
            total += len(sent)
            if len(claimed) < self._batch_size:
                return total

    async def _send(self, message: WebhookMessage, endpoint: WebhookEndpoint) -> _Sent:
        attempt_time = now_of(self._clock, message.tenant_id)
        # NOTE: the signed timestamp is wall time, whatever the tenant's sandbox clock says: receivers
        # compare it with their own clock to refuse replays.
        timestamp = int(shared_now(self._clock).timestamp())
        headers = {
            "webhook-id": message.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(
                endpoint.signing_secrets(attempt_time), message.id, timestamp, message.body
            ),
        }
        result = await self._sender.send(
            endpoint.url, sandbox=endpoint.sandbox, headers=headers, body=message.body.encode()
        )
        return _Sent(message, endpoint, result, attempt_time)

    async def _record(self, uow: WebhooksUnitOfWork, batch: Sequence[_Sent]) -> None:
        """Log the attempts, move each message on the schedule, and keep each endpoint's failure streak."""
        endpoints: dict[tuple[str, str], WebhookEndpoint | None] = {}
        attempts: list[DeliveryAttempt] = []
        for sent in batch:
            tenant_id, key = sent.message.tenant_id, (sent.message.tenant_id, sent.endpoint.id)
            if key not in endpoints:
                endpoints[key] = await uow.webhooks.get_endpoint(tenant_id, sent.endpoint.id, for_update=True)
            endpoint = endpoints[key]
            current = await uow.webhooks.get_message(tenant_id, sent.message.id, for_update=True)
            if current is None or endpoint is None:
                continue  # NOTE: the endpoint was deleted meanwhile, and its messages with it.
            counted = replace(
                current, attempt_count=current.attempt_count + 1, round_attempts=current.round_attempts + 1
            )
            step = next_step(counted, endpoint, sent.result, sent.attempt_time, self._draw)
            if not endpoint.enabled and step.state is MessageState.PENDING:
                step = NextStep(MessageState.FAILED)  # NOTE: its endpoint was disabled earlier in this batch
            await uow.webhooks.save_message(
                replace(counted, state=step.state, next_attempt_time=step.next_attempt_time)
            )
            attempts.append(_attempt(sent, endpoint.id, counted.attempt_count, step.next_attempt_time))
            if step.disable is not None:
                log.warning("disabling webhook endpoint %s of %s: %s", endpoint.id, tenant_id, step.disable.value)
                await disable_endpoint(uow, endpoint, step.disable, sent.attempt_time)
            elif endpoint.enabled:
                endpoint.failing_since = (
                    None if sent.result.delivered else (endpoint.failing_since or sent.attempt_time)
                )
        await uow.webhooks.add_attempts(attempts)
        for endpoint in endpoints.values():
            if endpoint is not None and endpoint.enabled:
                await uow.webhooks.save_endpoint(endpoint)

    async def next_due_in(self) -> timedelta | None:
        async with self._uow_factory() as uow:
            return await uow.webhooks.next_due_in(tenant_times(self._clock))
