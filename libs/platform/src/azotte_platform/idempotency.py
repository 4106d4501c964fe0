"""AIP-155 request ids: a repeat gets the first answer, a reuse with other content is rejected."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import sqlalchemy as sa
from google.protobuf.message import Message
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from azotte_platform.db.tables import idempotency_keys
from azotte_platform.errors import RequestIdReused
from azotte_platform.ports import IdempotencyPort
from azotte_platform.request_ids import require_request_id

R = TypeVar("R", bound=Message)
_k = idempotency_keys.c
# NOTE: built once: every mutating call runs them (update bindparams are not named after columns).
_CLAIM = insert(idempotency_keys).on_conflict_do_nothing().returning(_k.request_id)
_THE_KEY = (
    _k.tenant_id == sa.bindparam("tenant"),
    _k.operation == sa.bindparam("op"),
    _k.request_id == sa.bindparam("request"),
)
_STORED = sa.select(_k.fingerprint, _k.response).where(*_THE_KEY)
_ANSWER = sa.update(idempotency_keys).where(*_THE_KEY).values(response=sa.bindparam("answer"))
REUSED_MESSAGE = "this request_id was already used for a request with other content; use a new request_id"


def fingerprint(request: Message) -> str:
    """A digest of a request's content, ignoring its `request_id` field."""
    copy = type(request)()
    copy.CopyFrom(request)
    if "request_id" in copy.DESCRIPTOR.fields_by_name:
        copy.ClearField("request_id")
    return hashlib.sha256(copy.SerializeToString(deterministic=True)).hexdigest()


class IdempotencyStore:
    """Request ids stored in the same transaction as the work they guard."""

    def __init__(self, connection: AsyncConnection):
        self._connection = connection

    async def begin(self, tenant_id: str, operation: str, request_id: str, digest: str) -> bytes | None:
        """Claim the request id; return the stored answer if this request was already served.

        NOTE: a concurrent duplicate blocks on the unique key until the first transaction ends,
        then sees its answer, so the work runs once.
        """
        require_request_id(request_id)
        claimed = await self._connection.execute(
            _CLAIM, {"tenant_id": tenant_id, "operation": operation, "request_id": request_id, "fingerprint": digest}
        )
        if claimed.first() is not None:
            return None
        key = {"tenant": tenant_id, "op": operation, "request": request_id}
        row = (await self._connection.execute(_STORED, key)).one()
        if row.fingerprint != digest:
            # NOTE: the message names neither the id nor the operation: behind the gateway, both are derived
            # keys of another service, which a caller must not see.
            raise RequestIdReused(REUSED_MESSAGE)
        return bytes(row.response or b"")

    async def complete(self, tenant_id: str, operation: str, request_id: str, response: bytes) -> None:
        """Store the answer to return to repeats."""
        await self._connection.execute(
            _ANSWER, {"tenant": tenant_id, "op": operation, "request": request_id, "answer": response}
        )


class _Transaction(Protocol):
    @property
    def idempotency(self) -> IdempotencyPort: ...

    async def commit(self) -> None: ...


async def run_once(
    uow: _Transaction,
    tenant_id: str,
    operation: str,
    request: Message,
    response_type: type[R],
    work: Callable[[], Awaitable[R]],
    *,
    request_id: str | None = None,
) -> R:
    """Run `work` and commit, unless this request id was served before: then return that answer.

    The request id is the request's `request_id` field unless given explicitly.
    """
    request_id = request_id if request_id is not None else str(getattr(request, "request_id", ""))
    stored = await uow.idempotency.begin(tenant_id, operation, request_id, fingerprint(request))
    if stored is not None:
        return response_type.FromString(stored)
    response = await work()
    await uow.idempotency.complete(tenant_id, operation, request_id, response.SerializeToString(deterministic=True))
    await uow.commit()
    return response
