"""Pipelined JetStream publishing: batches sent back to back, each batch's acknowledgements counted as they come."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg

YIELD_EVERY = 50
"""Messages sent between two turns of the event loop, whose flusher writes them while the next ones are encoded
(`publish` only queues them), and whose other tasks (the acknowledgements, the caller's next query) move on."""

Message = tuple[str, bytes, dict[str, str]]
"""A message to publish: subject, payload, headers."""


class PublishFailed(Exception):
    """JetStream refused a message of a batch, or no stream took it."""


class SentBatch:
    """A batch on its way; `acknowledged()` returns once JetStream stored (or de-duplicated) every message."""

    def __init__(self, key: str, size: int):
        self.key = key
        self.size = size
        self.unacknowledged = size
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if not size:
            self.done.set_result(None)

    async def acknowledged(self, timeout: float) -> None:
        """Wait for every acknowledgement; raise `PublishFailed`, or `TimeoutError` after `timeout` seconds."""
        async with asyncio.timeout(timeout):
            await self.done


class BatchPublisher:
    """Sends batches of JetStream publishes without waiting, any number of acknowledgements in flight.

    NOTE: every message of a batch names the batch's own reply subject, so an acknowledgement only counts
    down its batch: no future, reply inbox or JSON decoding per message, which `js.publish_async` spends.
    Messages go out in order on one connection, so the stream stores them in the order sent.
    """

    def __init__(self, client: Client):
        self._client = client
        self._prefix = ""
        self._sent: dict[str, SentBatch] = {}
        self._batches = 0

    async def send(self, messages: Sequence[Message]) -> SentBatch:
        """Send every message; the batch's acknowledgements arrive while the caller does something else."""
        if not self._prefix:
            self._prefix = self._client.new_inbox()
            await self._client.subscribe(f"{self._prefix}.*", cb=self._acknowledge)
        self._batches += 1
        batch = SentBatch(str(self._batches), len(messages))
        reply = f"{self._prefix}.{batch.key}"
        self._sent[batch.key] = batch
        try:
            for sent, (subject, payload, headers) in enumerate(messages, 1):
                await self._client.publish(subject, payload, reply=reply, headers=headers)
                if not sent % YIELD_EVERY:
                    await asyncio.sleep(0)
        except BaseException:
            self.forget(batch)
            raise
        return batch

    def forget(self, batch: SentBatch) -> None:
        """Stop counting `batch`'s acknowledgements (it was abandoned, or every one arrived)."""
        self._sent.pop(batch.key, None)
        if not batch.done.done():
            batch.done.cancel()
        elif not batch.done.cancelled():
            batch.done.exception()  # NOTE: marks a refusal nobody awaits any more as seen.

    async def _acknowledge(self, msg: Msg) -> None:
        batch = self._sent.get(msg.subject.rpartition(".")[2])
        if batch is None or batch.done.done():
            return
        if error := _refusal(msg):
            batch.done.set_exception(PublishFailed(error))
            return
        batch.unacknowledged -= 1
        if not batch.unacknowledged:
            batch.done.set_result(None)
            self.forget(batch)


def _refusal(msg: Msg) -> str:
    """Why JetStream did not store a message ("" when it did): an API error, or no stream listening."""
    if not msg.data:  # NOTE: a status message (503 no responders) has no body.
        return f"no stream took the message (status {(msg.headers or {}).get('Status', '?')})"
    if b'"error"' not in msg.data:
        return ""
    error = json.loads(msg.data).get("error")
    return f"{error.get('code')} {error.get('description')}" if isinstance(error, dict) else ""
