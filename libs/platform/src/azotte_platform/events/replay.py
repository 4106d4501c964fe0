"""Reading a producer's stream from its first event, for read models rebuilt from scratch."""

from __future__ import annotations

from collections.abc import AsyncIterator

from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext

from azotte_platform.events.envelope import ReceivedEvent, stream_name, validate_tenant_id


async def replay_events(
    js: JetStreamContext, producer: str, tenant_id: str, *, batch: int = 500
) -> AsyncIterator[ReceivedEvent]:
    """Every event `producer` published for `tenant_id`, oldest first, up to the last one stored now.

    NOTE: an ephemeral consumer that acknowledges nothing, so the durable consumers are untouched; the
    replay stops at the stream's last sequence when it began, so events published meanwhile are left
    to the live consumers.
    """
    validate_tenant_id(tenant_id)
    stream = stream_name(producer)
    last = (await js.stream_info(stream)).state.last_seq
    subscription = await js.pull_subscribe(
        f"azotte.{tenant_id}.{producer}.>",
        stream=stream,
        config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.NONE, inactive_threshold=60.0),
    )
    try:
        if (await subscription.consumer_info()).num_pending == 0:
            return
        while True:
            try:
                messages = await subscription.fetch(batch, timeout=1.0)
            except TimeoutError:  # nats-py's own or asyncio's: nothing more came in time
                return
            for message in messages:
                if message.metadata.sequence.stream > last:
                    return
                yield ReceivedEvent.from_headers(message.subject, dict(message.headers or {}), message.data)
                if message.metadata.num_pending == 0:
                    return
    finally:
        await subscription.unsubscribe()
