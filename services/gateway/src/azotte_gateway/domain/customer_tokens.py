"""Customer tokens: a tenant's backend vouches that a device acts for one of its customers.

A publishable key is public, so by itself it may act for nobody in particular. The tenant's backend (a
secret key with `issue_customer_tokens`) asks for a short-lived token naming the customer; the device sends
it beside its key, and the gateway binds the key to that customer for the call. The token is a JWT (HS256)
signed with the tenant's own secret, with the tenant as audience, so it is worthless to any other tenant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from azotte_gateway.domain.tenants import Tenant
from azotte_gateway.errors import CustomerTokenInvalid
from azotte_platform.durations import readable_duration
from azotte_platform.errors import InvalidArgument

ISSUER = "azotte"
ALGORITHM = "HS256"
DEFAULT_TTL = timedelta(hours=1)
MAX_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class IssuedToken:
    """A signed token and when it stops being accepted."""

    token: str
    expire_time: datetime


def issue(tenant: Tenant, customer_id: str, now: datetime, ttl: timedelta | None = None) -> IssuedToken:
    """A token binding a key of `tenant` to `customer_id` for `ttl` (default one hour, at most a day)."""
    ttl = DEFAULT_TTL if ttl is None else ttl
    if not timedelta(0) < ttl <= MAX_TTL:
        raise InvalidArgument.field("ttl", f"must be more than 0 and at most {readable_duration(MAX_TTL)}")
    expire = now + ttl
    claims = {
        "iss": ISSUER,
        "aud": tenant.id,
        "sub": customer_id,
        "iat": int(now.timestamp()),
        "exp": int(expire.timestamp()),
    }
    return IssuedToken(jwt.encode(claims, tenant.customer_token_secret, algorithm=ALGORITHM), expire)


def verify(tenant: Tenant, token: str, now: datetime) -> str:
    """The customer a token of `tenant` names; CustomerTokenInvalid when forged, foreign, malformed or expired."""
    try:
        claims = jwt.decode(
            token,
            tenant.customer_token_secret,
            algorithms=[ALGORITHM],
            audience=tenant.id,
            issuer=ISSUER,
            options={"require": ["iss", "aud", "sub", "exp"], "verify_exp": False},
        )
    except jwt.InvalidTokenError as error:
        raise CustomerTokenInvalid(f"the customer token is not valid: {error}") from error
    # NOTE: expiry is checked against the time given, like API keys: real time, never a sandbox clock.
    if not isinstance(claims["exp"], int) or now >= datetime.fromtimestamp(claims["exp"], UTC):
        raise CustomerTokenInvalid("the customer token has expired; ask the backend for a new one")
    customer_id = claims["sub"]
    if not isinstance(customer_id, str) or not customer_id:
        raise CustomerTokenInvalid("the customer token names no customer")
    return customer_id
