"""API keys: issued once in plaintext, stored only as a SHA-256 hash beside a visible prefix."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from azotte_gateway.domain.permissions import Principal, Role
from azotte_gateway.domain.tenants import Tenant, TenantMode
from azotte_gateway.errors import (
    ApiKeyExpired,
    ApiKeyExpiryInPast,
    ApiKeyInvalid,
    ApiKeyMalformed,
    ApiKeyNameRequired,
    ApiKeyRevoked,
)

KEY_SCHEME = "azk"
_PREFIX_BYTES = 6
_SECRET_LENGTH = 43  # 43 base62 characters carry 256 bits of entropy.
_BASE62 = string.ascii_letters + string.digits


@dataclass
class ApiKey:
    """A stored API key: no secret, only its hash and the prefix shown in the portal."""

    id: str
    tenant_id: str
    name: str
    role: Role
    mode: TenantMode
    prefix: str
    secret_hash: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None

    def is_expired(self, now: datetime) -> bool:
        """True once the expiry time has been reached."""
        return self.expires_at is not None and now >= self.expires_at

    def is_active(self, now: datetime) -> bool:
        """True when the key is neither revoked nor expired."""
        return self.revoked_at is None and not self.is_expired(now)

    def revoke(self, now: datetime) -> None:
        """Revoke the key; revoking again keeps the first revocation time."""
        if self.revoked_at is None:
            self.revoked_at = now

    def verify(self, presented_key: str, now: datetime) -> Principal:
        """Return the principal the presented key authenticates, or raise Unauthenticated."""
        return self.verify_digest(hash_api_key(presented_key), now)

    def verify_digest(self, presented_digest: str, now: datetime) -> Principal:
        """`verify` for a key already hashed with `hash_api_key`."""
        # NOTE: the hash is compared first and in constant time, so revocation and expiry are only
        # disclosed to someone who holds the real secret.
        if not hmac.compare_digest(presented_digest, self.secret_hash):
            raise ApiKeyInvalid("the API key is not valid")
        if self.revoked_at is not None:
            raise ApiKeyRevoked(f"the API key {self.prefix} has been revoked")
        if self.is_expired(now):
            raise ApiKeyExpired(f"the API key {self.prefix} has expired")
        return Principal(tenant_id=self.tenant_id, tenant_mode=self.mode, api_key_id=self.id, role=self.role)


@dataclass(frozen=True)
class IssuedApiKey:
    """A newly issued key: `plaintext` is shown to the caller once and never stored."""

    api_key: ApiKey
    plaintext: str


def hash_api_key(plaintext: str) -> str:
    """Hex SHA-256 of a whole key."""
    # NOTE: an unsalted fast hash is sound here because the secret is 256 random bits, not a password.
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def key_prefix(plaintext: str) -> str:
    """The visible prefix `azk_<mode>_<id>` used to look a presented key up, or raise Unauthenticated."""
    parts = plaintext.split("_")
    if (
        len(parts) != 4
        or parts[0] != KEY_SCHEME
        or parts[1] not in {mode.value for mode in TenantMode}
        or len(parts[2]) != 2 * _PREFIX_BYTES
        or len(parts[3]) != _SECRET_LENGTH
    ):
        raise ApiKeyMalformed("the API key is malformed")
    return "_".join(parts[:3])


def issue_api_key(
    *,
    tenant: Tenant,
    key_id: str,
    name: str,
    role: Role,
    now: datetime,
    expires_at: datetime | None = None,
) -> IssuedApiKey:
    """Generate a key for the tenant; the caller stores `api_key` and shows `plaintext` once."""
    if not name.strip():
        raise ApiKeyNameRequired.field("name", "must not be empty")
    if expires_at is not None and expires_at <= now:
        raise ApiKeyExpiryInPast.field("expires_at", "must be in the future")
    prefix = f"{KEY_SCHEME}_{tenant.mode.value}_{secrets.token_hex(_PREFIX_BYTES)}"
    secret = "".join(secrets.choice(_BASE62) for _ in range(_SECRET_LENGTH))
    plaintext = f"{prefix}_{secret}"
    api_key = ApiKey(
        id=key_id,
        tenant_id=tenant.id,
        name=name,
        role=role,
        mode=tenant.mode,
        prefix=prefix,
        secret_hash=hash_api_key(plaintext),
        created_at=now,
        expires_at=expires_at,
    )
    return IssuedApiKey(api_key=api_key, plaintext=plaintext)


API_KEY_ORDER_FIELDS = ("create_time", "display_name", "role")


@dataclass(frozen=True)
class ApiKeyListing:
    """Which of a tenant's keys a list shows (None = either) and their order: (field, descending) pairs
    of `API_KEY_ORDER_FIELDS`, the key id breaking ties."""

    role: Role | None = None
    revoked: bool | None = False
    order: tuple[tuple[str, bool], ...] = (("create_time", False),)
