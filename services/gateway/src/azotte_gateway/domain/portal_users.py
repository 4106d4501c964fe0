"""Portal users, their passwords (Argon2id), their sessions and the sign-in lock-out.

A user signs in to one tenant's portal with an email and a password the gateway generated. A session is
a random 256-bit token held in a cookie; only its SHA-256 hash is stored, beside the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from azotte_gateway.domain.permissions import Role
from azotte_platform.errors import InvalidArgument

PORTAL_ROLES = (Role.ADMIN, Role.MANAGER, Role.OPERATOR, Role.VIEWER)
MAX_EMAIL_LENGTH = 254
_EMAIL = re.compile(r"[^@\s\x00-\x1f\ud800-\udfff]+@[^@\s\x00-\x1f\ud800-\udfff]+\.[^@\s\x00-\x1f\ud800-\udfff]+")

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
# NOTE: a session's last use is written at most this often, so reading pages does not write on every request.
TOUCH_INTERVAL = timedelta(minutes=1)

LOCKOUT_FAILURES = 5
LOCKOUT_WINDOW = timedelta(minutes=15)


def normalize_email(email: str, field: str = "email") -> str:
    """The email lower-cased and trimmed, or INVALID_ARGUMENT naming `field`."""
    cleaned = email.strip().lower()
    if not cleaned:
        raise InvalidArgument.field(field, "is required")
    if len(cleaned) > MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(cleaned):
        raise InvalidArgument.field(field, "is not an email address")
    return cleaned


def portal_role(role: Role | None, field: str = "role") -> Role:
    """The role, which must be one a person may have (never `publishable`)."""
    if role not in PORTAL_ROLES:
        raise InvalidArgument.field(field, f"must be one of {', '.join(r.value for r in PORTAL_ROLES)}")
    return role


def new_password() -> str:
    """A generated password: 20 URL-safe characters (120 bits)."""
    return secrets.token_urlsafe(15)


class Passwords:
    """Argon2id hashes of passwords; the costs are RFC 9106's second recommendation unless given."""

    def __init__(self, *, time_cost: int = 3, memory_cost_kib: int = 64 * 1024, parallelism: int = 4):
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib, parallelism=parallelism)
        # NOTE: an unknown email is checked against this hash too, so its answer takes as long as a wrong password.
        self._decoy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """The Argon2id hash (salt and parameters included) to store."""
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when the password matches the hash; a None hash (unknown user) spends the same time and fails."""
        try:
            matches = self._hasher.verify(stored_hash or self._decoy, password)
        except (VerificationError, InvalidHashError):
            return False
        return matches and stored_hash is not None


@dataclass
class PortalUser:
    """A person who signs in to one tenant's portal with one role."""

    tenant_id: str
    id: str
    email: str
    role: Role
    password_hash: str
    created_at: datetime
    disabled_at: datetime | None = None

    def disable(self, now: datetime) -> None:
        """Disable the user; disabling again keeps the first time."""
        if self.disabled_at is None:
            self.disabled_at = now


def hash_session_token(token: str) -> str:
    """The SHA-256 of a session token, the only form it is stored in."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class PortalSession:
    """A signed-in user's session: expires when idle too long and at its absolute end."""

    token_hash: str
    tenant_id: str
    user_id: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime

    def is_live(self, now: datetime) -> bool:
        """True while neither the idle nor the absolute timeout has passed."""
        return now < self.last_seen_at + IDLE_TIMEOUT and now < self.created_at + ABSOLUTE_TIMEOUT

    def needs_touch(self, now: datetime) -> bool:
        """True when the last use recorded is old enough to be written again."""
        return now - self.last_seen_at >= TOUCH_INTERVAL

    def csrf_matches(self, presented: str) -> bool:
        """True when the presented form token is this session's (compared in constant time)."""
        return hmac.compare_digest(self.csrf_token.encode(), presented.encode())


@dataclass(frozen=True)
class OpenedSession:
    """A new session and its token, which only the cookie holds."""

    session: PortalSession
    token: str


def open_session(tenant_id: str, user_id: str, now: datetime) -> OpenedSession:
    """A new session with a random 256-bit token and its own CSRF token."""
    token = secrets.token_urlsafe(32)
    session = PortalSession(hash_session_token(token), tenant_id, user_id, secrets.token_urlsafe(32), now, now)
    return OpenedSession(session, token)


def lockout_remaining(failure_times: list[datetime], now: datetime) -> timedelta | None:
    """How long sign-in stays locked after the failures of the window, or None when it is open."""
    recent = sorted(t for t in failure_times if now - t < LOCKOUT_WINDOW)
    if len(recent) < LOCKOUT_FAILURES:
        return None
    # NOTE: it opens again when the oldest of the last LOCKOUT_FAILURES failures leaves the window.
    return recent[-LOCKOUT_FAILURES] + LOCKOUT_WINDOW - now
