"""Authentication of API keys, per-key rate limits, and the tenant scope a caller's calls run in."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from azotte_gateway.domain import customer_tokens
from azotte_gateway.domain.api_keys import ApiKey, hash_api_key, key_prefix
from azotte_gateway.domain.permissions import Principal
from azotte_gateway.domain.rate_limit import KeyRateLimiter, RateLimit
from azotte_gateway.domain.tenants import Tenant
from azotte_gateway.errors import (
    ApiKeyInvalid,
    ApiKeyMalformed,
    ApiKeyMissing,
    AuthorizationRepeated,
    CustomerTokenRepeated,
    RateLimited,
)
from azotte_gateway.ports import GatewayUnitOfWork
from azotte_platform import context
from azotte_platform.clock import Clock

BEARER = "bearer "
# The header (REST) and metadata key (gRPC) carrying a customer token beside the API key.
CUSTOMER_TOKEN_HEADER = "x-customer-token"
RETRY_AFTER_KEY = "retry_after_seconds"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: the principal and the tenant it belongs to."""

    principal: Principal
    tenant: Tenant

    def scope(self) -> AbstractContextManager[context.RequestContext]:
        """Act for the caller's tenant inside the block: the services called there see it."""
        return context.tenant_scope(self.principal.tenant_id, f"api_key:{self.principal.api_key_id}")


@dataclass(frozen=True)
class _Cached:
    key: ApiKey
    tenant: Tenant
    loaded_at: float


def single_authorization(values: Sequence[str]) -> str | None:
    """The one authorization a call carries (None if none); two or more are refused, never picked from."""
    if len(values) > 1:
        raise AuthorizationRepeated(f"the call carries {len(values)} authorizations; send exactly one")
    return values[0] if values else None


def single_customer_token(values: Sequence[str]) -> str | None:
    """The one customer token a call carries (None if none); two or more are refused."""
    if len(values) > 1:
        raise CustomerTokenRepeated(f"the call carries {len(values)} customer tokens; send at most one")
    return values[0] if values else None


def bearer_key(authorization: str | None) -> str:
    """The key of an `Authorization: Bearer <key>` value, or raise Unauthenticated."""
    if not authorization:
        raise ApiKeyMissing("an API key is required: send `Authorization: Bearer <key>`")
    if not authorization.lower().startswith(BEARER):
        raise ApiKeyMalformed("the authorization must be `Bearer <key>`")
    return authorization[len(BEARER) :].strip()


class Authenticator:
    """Turns a presented key into a Caller, spending from the key's token bucket."""

    # NOTE: verified keys are kept for `cache_seconds` so the hot path (access checks) does not
    # read the database on every call; a revocation on this replica drops the entry at once, on
    # other replicas it takes effect within `cache_seconds`.
    def __init__(
        self,
        uow_factory: Callable[[], GatewayUnitOfWork],
        clock: Clock,
        rate_limit: RateLimit,
        *,
        cache_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._uow_factory = uow_factory
        self._clock = clock
        self._monotonic = monotonic
        self._cache_seconds = cache_seconds
        self._cache: dict[str, _Cached] = {}
        self._limiter = KeyRateLimiter(rate_limit, monotonic)

    async def authenticate(self, authorization: str | None, customer_token: str | None = None) -> Caller:
        """Verify the key (and the customer token binding it to one customer, if any) and spend from the key's
        rate limit; the caller's calls run in `Caller.scope()`."""
        presented = bearer_key(authorization)
        digest = hash_api_key(presented)
        cached = await self._load(presented, digest)
        now = self._clock.now()
        principal = cached.key.verify_digest(digest, now)
        if customer_token is not None:
            principal = principal.acting_for(customer_tokens.verify(cached.tenant, customer_token, now))
        decision = self._limiter.check(principal.api_key_id)
        if not decision.allowed:
            raise RateLimited(
                f"the rate limit of API key {cached.key.prefix} is exhausted; retry in {decision.retry_after_header} s",
                metadata={RETRY_AFTER_KEY: str(decision.retry_after_header)},
            )
        return Caller(principal, cached.tenant)

    def forget(self, api_key_id: str) -> None:
        """Drop a revoked key from this replica's cache and buckets."""
        for digest, entry in list(self._cache.items()):
            if entry.key.id == api_key_id:
                del self._cache[digest]
        self._limiter.forget(api_key_id)

    async def _load(self, presented: str, digest: str) -> _Cached:
        entry = self._cache.get(digest)
        now = self._monotonic()
        if entry is not None and now - entry.loaded_at < self._cache_seconds:
            return entry
        prefix = key_prefix(presented)
        async with self._uow_factory() as uow:
            key = await uow.api_keys.by_prefix(prefix)
            tenant = await uow.tenants.get(key.tenant_id) if key else None
        if key is None or tenant is None:
            raise ApiKeyInvalid("the API key is not valid")
        entry = _Cached(key, tenant, now)
        if key.secret_hash == digest:
            self._cache[digest] = entry
        return entry
