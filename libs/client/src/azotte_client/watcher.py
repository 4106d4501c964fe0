"""EntitlementWatcher: a customer's access kept in memory from the gateway's WatchEntitlements stream.

`check(feature)` answers from memory, with no call to the gateway; the stream pushes every change. A dropped
stream is opened again with exponential backoff (the last known access keeps answering meanwhile); a refusal
(bad key, a customer token for someone else, an unknown customer) ends the watch and is raised by `start`.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType

import grpc

from azotte.gateway.v1 import gateway_pb2 as gw
from azotte.gateway.v1 import gateway_pb2_grpc

CUSTOMER_TOKEN_HEADER = "x-customer-token"
# Answers that no retry changes: the watch ends.
REFUSALS = frozenset(
    {
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.INVALID_ARGUMENT,
    }
)


class WatchRefused(Exception):
    """The gateway refused the watch (its status code and message)."""

    def __init__(self, code: grpc.StatusCode, details: str):
        super().__init__(f"{code.name}: {details}")
        self.code = code


class EntitlementWatcher:
    """One customer's access decisions, kept current by the gateway; use as `async with` or start/close."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        api_key: str,
        customer_id: str,
        *,
        customer_token: str = "",
        on_change: Callable[[EntitlementWatcher], None] | None = None,
        initial_backoff: float = 0.1,
        max_backoff: float = 10.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._stub = gateway_pb2_grpc.GatewayServiceStub(channel)
        self._metadata = [("authorization", f"Bearer {api_key}")]
        if customer_token:
            self._metadata.append((CUSTOMER_TOKEN_HEADER, customer_token))
        self.customer_id = customer_id
        self._on_change = on_change
        self._initial_backoff = initial_backoff
        self._max_backoff = max_backoff
        self._now = now
        self._decisions: dict[str, gw.AccessDecision] = {}
        self.consistency_token = ""
        self.connected = False
        self.received = 0  # states received since start (the first included)
        self._changed = asyncio.Condition()
        self._refused: WatchRefused | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EntitlementWatcher:
        await self.start()
        return self

    async def __aexit__(self, *_: type[BaseException] | BaseException | TracebackType | None) -> None:
        await self.close()

    async def start(self, timeout: float = 10.0) -> None:
        """Open the stream and wait for the customer's first state (raises WatchRefused, or TimeoutError)."""
        self._task = asyncio.create_task(self._run())
        await self.wait_until(lambda watcher: watcher.received > 0, timeout=timeout)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def check(self, feature_key: str, quantity: int = 0) -> bool:
        """Whether the customer may use the feature now (and `quantity` units of its quota), from memory."""
        decision = self._decisions.get(feature_key)
        if decision is None:
            return False
        now = self._now()
        allowed = decision.allowed
        remaining = decision.remaining_quota if decision.HasField("remaining_quota") else None
        if decision.HasField("quota_reset_time") and decision.quota_reset_time.ToDatetime(UTC) <= now:
            # NOTE: the quota's usage period has ended: none of it is used in the next one yet.
            allowed = allowed or decision.denial_reason == gw.ACCESS_DENIAL_REASON_QUOTA_EXHAUSTED
            remaining = decision.quota_limit if decision.HasField("quota_limit") else None
        if not allowed or (decision.HasField("valid_until_time") and decision.valid_until_time.ToDatetime(UTC) <= now):
            return False
        return not (quantity and remaining is not None and remaining < quantity)

    def decision(self, feature_key: str) -> gw.AccessDecision | None:
        """The feature's last decision as the gateway sent it (None: the customer has no entitlement to it)."""
        return self._decisions.get(feature_key)

    async def wait_until(self, condition: Callable[[EntitlementWatcher], bool], *, timeout: float) -> None:
        """Until `condition(self)` holds after a state arrived (raises WatchRefused if the watch ended)."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self._refused is not None or condition(self))
        if self._refused is not None:
            raise self._refused

    async def _run(self) -> None:
        backoff = self._initial_backoff
        while True:
            try:
                stream = self._stub.WatchEntitlements(
                    gw.WatchEntitlementsRequest(customer_id=self.customer_id), metadata=self._metadata
                )
                async for state in stream:
                    self.connected = True
                    backoff = self._initial_backoff
                    await self._apply(state)
            except grpc.aio.AioRpcError as error:
                if error.code() in REFUSALS:
                    await self._refuse(WatchRefused(error.code(), error.details() or ""))
                    return
            self.connected = False
            # NOTE: jitter keeps many clients from reconnecting in step after a gateway restart.
            await asyncio.sleep(backoff * random.uniform(0.5, 1.0))
            backoff = min(backoff * 2, self._max_backoff)

    async def _apply(self, state: gw.WatchEntitlementsResponse) -> None:
        self._decisions = {decision.feature_key: decision for decision in state.decisions}
        self.consistency_token = state.consistency_token
        self.received += 1
        if self._on_change is not None:
            self._on_change(self)
        async with self._changed:
            self._changed.notify_all()

    async def _refuse(self, refused: WatchRefused) -> None:
        self._refused = refused
        async with self._changed:
            self._changed.notify_all()
