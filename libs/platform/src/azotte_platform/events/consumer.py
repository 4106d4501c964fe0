"""Durable JetStream pull consumers with exactly-once effect through an inbox table."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Generic, TypeVar

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import ConnectionClosedError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from opentelemetry import trace

from azotte_platform import context
from azotte_platform.db.unit_of_work import UnitOfWork
from azotte_platform.events.envelope import ReceivedEvent, stream_name, trace_context
from azotte_platform.telemetry import CONSUMER_EVENT_AGE, CONSUMER_PENDING, EVENTS_CONSUMED

log = logging.getLogger(__name__)
BACKGROUND_LINGER_SECONDS = 0.5
"""The `linger_seconds` of a consumer no caller waits on: under load, half a second of checkouts' events (tens) share
one transaction; at 0.1 s the gateway's and promotions' consumers cost about 1.5 ms more CPU per checkout (of 45)."""
EVENTS_PER_TRANSACTION = 50
"""The `per_transaction` of a consumer whose handler works within the consumer's unit of work alone (database
writes, idempotent calls): the events fetched together are applied in one transaction."""
_WAITING_TIMEOUT_SECONDS = 0.05
"""How long taking the messages waiting for a consumer waits for each of the server's answers (it answers at once)."""
tracer = trace.get_tracer(__name__)

U = TypeVar("U", bound=UnitOfWork)
Handler = Callable[[U, ReceivedEvent], Awaitable[None]]
Prepare = Callable[[U, Sequence[ReceivedEvent]], Awaitable[None]]
"""Called once per transaction applying events together, with the events it will apply (e.g. to read at once what
the handler would ask for each)."""
ApplyTogether = Callable[[U, Sequence[ReceivedEvent]], Awaitable[None]]
"""Applies the events of one tenant that one transaction applies together (in stream order) in place of the handler,
e.g. to do once per key what the handler would do for each event of it."""


@dataclass(frozen=True)
class ConsumerSpec:
    """Which events a durable consumer reads and how hard it tries."""

    durable: str
    producer: str
    event_types: Sequence[str] = (">",)
    max_deliver: int = 5
    backoff_seconds: Sequence[float] = (0.2, 1.0, 5.0, 15.0)
    ack_wait_seconds: float = 30.0
    batch: int = 200
    # Events applied together in one transaction (a read model that would otherwise commit per event);
    # 1 applies each on its own.
    per_transaction: int = 1
    # How long a fetched batch smaller than `batch` waits for more before it is applied: a consumer off every
    # request's path (analytics, fan-out) trades that much lag for fewer, larger transactions and keeps out of
    # the way of the consumers a caller waits on. 0 applies what came at once.
    linger_seconds: float = 0.0

    def filter_subjects(self) -> list[str]:
        return [f"azotte.*.{self.producer}.{event_type}" for event_type in self.event_types]


async def fetched_batches(
    js: JetStreamContext, durable: str, stream: str, batch: int, linger_seconds: float = 0.0
) -> AsyncGenerator[list[Msg], None]:
    """The batches of a durable pull consumer, fetched forever (an empty batch when nothing came for a second): the
    first message as soon as it arrives, with up to `batch` - 1 more of those waiting behind it — or, given
    `linger_seconds`, of those that arrived in that time.

    NOTE: nats-py's fetch of several messages, once one has come, waits for more until the server ends the request,
    which may be the request's whole timeout: a lone event would wait up to a second. A fetch of one returns as the
    message arrives; the rest are taken by a pull request that waits for nothing (`_Waiting`).

    NOTE: the subscriptions are removed when the caller stops (close this generator, e.g. with `aclosing`): a
    message delivered after the last fetch would otherwise wait in its queue, and draining the NATS connection
    at shutdown would wait on it for the whole drain timeout. JetStream redelivers it after its ack wait.
    """
    subscription = await js.pull_subscribe_bind(durable=durable, stream=stream)
    waiting = _Waiting(js, stream, durable)
    try:
        while True:
            try:
                try:
                    messages = await subscription.fetch(1, timeout=1.0)
                except TimeoutError:
                    # NOTE: nats-py raises its own TimeoutError or asyncio's (both this builtin) when nothing came.
                    messages = []
                if batch > 1 and (messages or waiting.queued()):
                    if linger_seconds:
                        await asyncio.sleep(linger_seconds)
                    messages += await waiting.take(batch - len(messages))
                    # NOTE: messages of a request given up earlier may be older than the one just fetched.
                    messages.sort(key=lambda message: message.metadata.sequence.stream)
                yield messages
            except ConnectionClosedError:
                raise  # for good: a closed client never reconnects (nats-py also answers a cancelled fetch so)
            except Exception:
                log.warning("consumer %s could not fetch; retrying", durable, exc_info=True)
                await asyncio.sleep(1.0)
    finally:
        for closing in (subscription.unsubscribe(), waiting.close()):
            with contextlib.suppress(Exception):
                await closing


class _Waiting:
    """The messages already waiting for a durable pull consumer, taken without waiting for more: a pull request with
    `no_wait` and no expiry, which the server answers with what is waiting, ended by a status when short. Its inbox
    is subscribed on first use."""

    def __init__(self, js: JetStreamContext, stream: str, durable: str):
        self._js = js
        self._subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{durable}"
        self._subscription: Subscription | None = None

    def queued(self) -> bool:
        """Messages of an earlier request came after it was given up: they are taken next."""
        return self._subscription is not None and self._subscription.pending_msgs > 0

    async def take(self, most: int) -> list[Msg]:
        """Up to `most` messages: first those queued from earlier requests, then those the server has waiting."""
        client: Client = self._js._nc  # NOTE: the JetStream context's own client; nats-py keeps it private
        if self._subscription is None:
            self._subscription = await client.subscribe(client.new_inbox())
        inbox = self._subscription
        taken: list[Msg] = []
        for _ in range(inbox.pending_msgs):
            message = await inbox.next_msg(timeout=_WAITING_TIMEOUT_SECONDS)
            if not JetStreamContext.is_status_msg(message):
                taken.append(message)
        if len(taken) >= most:
            return taken
        request = json.dumps({"batch": most - len(taken), "no_wait": True}).encode()
        await client.publish(self._subject, request, reply=inbox.subject)
        while len(taken) < most:
            try:
                message = await inbox.next_msg(timeout=_WAITING_TIMEOUT_SECONDS)
            except TimeoutError:
                break  # NOTE: what the server sends later waits in the queue for the next request
            if JetStreamContext.is_status_msg(message):
                break  # NOTE: nothing more is waiting (404) or the request ended
            taken.append(message)
        return taken

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.unsubscribe()


class EventConsumer(Generic[U]):
    """Feeds events to `handler` inside a unit of work that also records them in the inbox.

    NOTE: the inbox row and the handler's changes commit together, so a redelivered event (crash
    before the ack, relay duplicate) has no second effect. A handler failure is retried with
    backoff; after `max_deliver` tries the event is parked in the dead-letter stream.
    """

    def __init__(
        self,
        js: JetStreamContext,
        uow_factory: Callable[[], U],
        spec: ConsumerSpec,
        handler: Handler[U],
        prepare: Prepare[U] | None = None,
        apply_together: ApplyTogether[U] | None = None,
    ):
        self._js = js
        self._uow_factory = uow_factory
        self._spec = spec
        self._handler = handler
        self._prepare = prepare
        self._apply_together = apply_together
        self._pending = CONSUMER_PENDING.labels(spec.durable)
        self._event_age = CONSUMER_EVENT_AGE.labels(spec.durable)

    async def run(self) -> None:
        """Fetch and handle events forever."""
        spec = self._spec
        await self._js.add_consumer(
            stream_name(spec.producer),
            ConsumerConfig(
                durable_name=spec.durable,
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_deliver=spec.max_deliver,
                ack_wait=spec.ack_wait_seconds,
                filter_subjects=spec.filter_subjects(),
            ),
        )
        fetched = fetched_batches(self._js, spec.durable, stream_name(spec.producer), spec.batch, spec.linger_seconds)
        async with contextlib.aclosing(fetched) as batches:
            async for messages in batches:
                # NOTE: every delivery says how many events remain behind it: the lag costs no request of its own.
                self._pending.set(messages[-1].metadata.num_pending if messages else 0)
                step = self._spec.per_transaction
                for start in range(0, len(messages), step):
                    chunk = messages[start : start + step]
                    if len(chunk) == 1 or not await self.handle_together(chunk):
                        for message in chunk:
                            await self.handle(message)

    async def run_forever(self, restart_seconds: float = 2.0) -> None:
        """`run`, started again after a failure: before the producer created its stream, or while NATS is away."""
        while True:
            try:
                await self.run()
            except Exception:
                log.info("consumer %s not running; retrying", self._spec.durable, exc_info=True)
                await asyncio.sleep(restart_seconds)

    async def handle_together(self, messages: list[Msg]) -> bool:
        """Apply several deliveries in one transaction and ack them; False (nothing applied) if any failed.

        NOTE: the events are applied grouped by tenant, each tenant's in stream order, so consumers that
        lock per tenant always lock in the same order. On a failure the caller applies them one by one,
        which retries or parks only the event that fails.
        """
        events = [
            (message, ReceivedEvent.from_headers(message.subject, dict(message.headers or {}), message.data))
            for message in messages
        ]
        # NOTE: the transaction's span links every producer's trace; each event's handling continues its own.
        producers = (trace.get_current_span(trace_context(event.headers)).get_span_context() for _, event in events)
        links = [trace.Link(producer) for producer in producers if producer.is_valid]
        with tracer.start_as_current_span(f"consume {len(events)} events", kind=trace.SpanKind.CONSUMER, links=links):
            try:
                async with self._uow_factory() as uow:
                    claimed = await uow.claim_events(self._spec.durable, ((e.id, e.tenant_id) for _, e in events))
                    if self._prepare is not None:
                        await self._prepare(uow, list({e.id: e for _, e in events if e.id in claimed}.values()))
                    if self._apply_together is not None:
                        await self._apply_each_tenant(uow, [e for _, e in events], claimed)
                    else:
                        for message, event in sorted(events, key=lambda pair: pair[1].tenant_id):
                            context.set_current(context.RequestContext(tenant_id=event.tenant_id, request_id=event.id))
                            with self._span(message, event):
                                if event.id in claimed:
                                    claimed.discard(event.id)  # NOTE: one delivered twice in the batch applies once.
                                    await self._handler(uow, event)
                    await uow.commit()
            except Exception:
                log.info("consumer %s applies %d events one by one", self._spec.durable, len(events), exc_info=True)
                return False
        for message, _ in events:
            await message.ack()
            self._handled(message)
        EVENTS_CONSUMED.labels(self._spec.durable, "handled").inc(len(events))
        return True

    async def _apply_each_tenant(self, uow: U, events: list[ReceivedEvent], claimed: set[str]) -> None:
        """`apply_together` once per tenant with its claimed events (each once), the tenants in order."""
        assert self._apply_together is not None
        by_tenant: dict[str, dict[str, ReceivedEvent]] = {}
        for event in events:
            if event.id in claimed:
                by_tenant.setdefault(event.tenant_id, {}).setdefault(event.id, event)
        for tenant_id in sorted(by_tenant):
            applied = list(by_tenant[tenant_id].values())
            context.set_current(context.RequestContext(tenant_id=tenant_id, request_id=applied[0].id))
            await self._apply_together(uow, applied)

    def _span(self, message: Msg, event: ReceivedEvent) -> AbstractContextManager[trace.Span]:
        """The span of handling one event: a child of the span its `ce-traceparent` names (the relay's publication,
        or the span that wrote it when its trace is not recorded)."""
        return tracer.start_as_current_span(
            f"consume {event.type}",
            context=trace_context(event.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.operation.type": "process",
                "messaging.destination.name": message.subject,
                "messaging.consumer.group.name": self._spec.durable,
                "messaging.message.id": event.id,
            },
        )

    def _handled(self, message: Msg) -> None:
        """Record how long the event waited in its stream before it was handled."""
        self._event_age.observe(max(time.time() - message.metadata.timestamp.timestamp(), 0.0))

    async def handle(self, message: Msg) -> None:
        """Handle one delivery: apply once, ack; or retry later; or park it."""
        headers = dict(message.headers or {})
        event = ReceivedEvent.from_headers(message.subject, headers, message.data)
        context.set_current(context.RequestContext(tenant_id=event.tenant_id, request_id=event.id))
        with self._span(message, event):
            try:
                async with self._uow_factory() as uow:
                    if await uow.claim_event(self._spec.durable, event.id, event.tenant_id):
                        await self._handler(uow, event)
                    await uow.commit()
            except Exception as error:
                await self._fail(message, event, error)
                return
        await message.ack()
        self._handled(message)
        EVENTS_CONSUMED.labels(self._spec.durable, "handled").inc()

    async def _fail(self, message: Msg, event: ReceivedEvent, error: Exception) -> None:
        delivered = message.metadata.num_delivered
        if delivered >= self._spec.max_deliver:
            log.error("parking event %s (%s) after %d tries: %s", event.id, event.type, delivered, error)
            headers = dict(event.headers)
            headers.pop("Nats-Msg-Id", None)
            headers["azotte-error"] = str(error)[:500]
            headers["azotte-consumer"] = self._spec.durable
            await self._js.publish(f"azotte_dlq.{self._spec.durable}", event.data, headers=headers)
            await message.term()
            EVENTS_CONSUMED.labels(self._spec.durable, "parked").inc()
            return
        backoff = self._spec.backoff_seconds
        delay = backoff[min(delivered - 1, len(backoff) - 1)]
        log.warning("event %s (%s) failed, retry in %.1fs: %s", event.id, event.type, delay, error)
        await message.nak(delay=delay)
        EVENTS_CONSUMED.labels(self._spec.durable, "retried").inc()
