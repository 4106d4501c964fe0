"""A tenant's own account at a PSP: its kind, mode and credentials, which are only ever shown as hints."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_payments.errors import InvalidPspAccount
from azotte_platform.sealing import Sealed

ACCOUNT_ID = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
MAX_CREDENTIAL_LENGTH = 512


class PspKind(StrEnum):
    """Which provider (and so which adapter) an account is at."""

    STRIPE = "stripe"
    ADYEN = "adyen"
    STRIPE_LIKE = "stripe_like"
    ADYEN_LIKE = "adyen_like"
    CARRIER = "carrier"


class PspMode(StrEnum):
    """Test money or real money; a sandbox tenant's account is never live."""

    SANDBOX = "sandbox"
    LIVE = "live"


# The credentials each kind needs, by name; every one is secret except a merchant account and a URL prefix.
REQUIRED_CREDENTIALS: dict[PspKind, tuple[str, ...]] = {
    PspKind.STRIPE: ("secret_key", "webhook_secret"),
    PspKind.ADYEN: ("api_key", "merchant_account", "hmac_key"),
    PspKind.STRIPE_LIKE: ("api_key",),
    PspKind.ADYEN_LIKE: ("api_key", "merchant_account"),
    PspKind.CARRIER: ("carrier", "api_key", "notification_secret", "flow"),
}
# An Adyen live account's Checkout API is at `https://{live_url_prefix}-checkout-live.adyenpayments.com`.
LIVE_CREDENTIALS: dict[PspKind, tuple[str, ...]] = {PspKind.ADYEN: ("live_url_prefix",)}
NOT_SECRET = frozenset({"merchant_account", "live_url_prefix", "carrier", "flow"})
# A carrier account names one of the carriers the operator configured, and how its payments are made.
CARRIER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
CARRIER_FLOWS = ("one_step", "two_step")
HMAC_KEY = re.compile(r"^(?:[0-9A-Fa-f]{2}){16,64}$")
LIVE_URL_PREFIX = re.compile(r"^[A-Za-z0-9-]{1,100}$")


@dataclass(frozen=True)
class PspCredentials:
    """The plaintext credentials of an account; its repr never shows them."""

    values: dict[str, str] = field(repr=False)

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    def to_bytes(self) -> bytes:
        """The canonical plaintext that gets sealed."""
        return json.dumps(self.values, sort_keys=True, separators=(",", ":")).encode()

    @classmethod
    def from_bytes(cls, plaintext: bytes) -> PspCredentials:
        """The credentials `to_bytes` wrote."""
        return cls(dict(json.loads(plaintext)))

    def hints(self) -> dict[str, str]:
        """What an answer may show: non-secret values as they are, secrets as a fingerprint and last four."""
        return {name: value if name in NOT_SECRET else hint_of(value) for name, value in sorted(self.values.items())}


def hint_of(secret: str) -> str:
    """`…last4 (sha256:first 12 hex)`: enough to recognise a key, useless to use it."""
    digest = hashlib.sha256(secret.encode()).hexdigest()[:12]
    return f"…{secret[-4:]} (sha256:{digest})"


@dataclass
class PspAccount:
    """A tenant's account at a PSP; routing rules name it by `account_id`."""

    account_id: str
    kind: PspKind
    mode: PspMode
    display_name: str
    credential_hints: dict[str, str]
    sealed: Sealed
    created_at: datetime
    updated_at: datetime

    @property
    def routing_name(self) -> str:
        """The name a storefront routing rule uses for this account."""
        return self.account_id


def sealing_binding(tenant_id: str, account_id: str) -> str:
    """What sealed credentials are bound to: opening them under another tenant or account fails."""
    return f"{tenant_id}/{account_id}"


def validate_account(account_id: str, kind: PspKind, mode: PspMode, credentials: PspCredentials) -> None:
    """Field checks of a new account: id shape, the kind's credentials, and keys that match the mode."""
    if not ACCOUNT_ID.match(account_id):
        raise InvalidPspAccount.field(
            "account.account_id", "must be 1 to 63 of a-z, 0-9 and '-', starting with a letter"
        )
    required = REQUIRED_CREDENTIALS[kind] + (LIVE_CREDENTIALS.get(kind, ()) if mode is PspMode.LIVE else ())
    for name in required:
        value = credentials.values.get(name, "")
        if not value:
            raise InvalidPspAccount.field(f"credentials.{name}", f"is required for a {kind.value} account")
        if len(value) > MAX_CREDENTIAL_LENGTH or not value.isprintable() or value != value.strip():
            raise InvalidPspAccount.field(f"credentials.{name}", "must be printable, without spaces around it")
    extra = sorted(set(credentials.values) - set(required))
    if extra:
        raise InvalidPspAccount.field(f"credentials.{extra[0]}", f"is not a credential of a {kind.value} account")
    if kind in (PspKind.STRIPE_LIKE, PspKind.ADYEN_LIKE) and mode is PspMode.LIVE:
        raise InvalidPspAccount.field("account.mode", f"a {kind.value} account is a sandbox, never live")
    if kind is PspKind.STRIPE:
        _validate_stripe_keys(mode, credentials)
    if kind is PspKind.ADYEN:
        _validate_adyen_keys(mode, credentials)
    if kind is PspKind.CARRIER:
        _validate_carrier(mode, credentials)


def _validate_stripe_keys(mode: PspMode, credentials: PspCredentials) -> None:
    # NOTE: Stripe's key prefixes say which money they move; a live account with a test key is a mistake.
    prefix = "live" if mode is PspMode.LIVE else "test"
    if not credentials["secret_key"].startswith((f"sk_{prefix}_", f"rk_{prefix}_")):
        raise InvalidPspAccount.field(
            "credentials.secret_key", f"must be a {prefix} key (sk_{prefix}_… or rk_{prefix}_…)"
        )
    if not credentials["webhook_secret"].startswith("whsec_"):
        raise InvalidPspAccount.field("credentials.webhook_secret", "must be an endpoint signing secret (whsec_…)")


def _validate_adyen_keys(mode: PspMode, credentials: PspCredentials) -> None:
    # NOTE: the HMAC key is shown in hex in Adyen's Customer Area; notifications are verified with its bytes.
    if not HMAC_KEY.match(credentials["hmac_key"]):
        raise InvalidPspAccount.field(
            "credentials.hmac_key", "must be the webhook's HMAC key in hex (32 to 128 digits)"
        )
    if mode is PspMode.LIVE and not LIVE_URL_PREFIX.match(credentials["live_url_prefix"]):
        raise InvalidPspAccount.field(
            "credentials.live_url_prefix", "must be the account's live URL prefix (a-z, 0-9, '-')"
        )


def _validate_carrier(mode: PspMode, credentials: PspCredentials) -> None:
    if credentials["carrier"] == "sandbox" and mode is PspMode.LIVE:
        raise InvalidPspAccount.field("account.mode", "the sandbox carrier moves no real money: never live")
    if not CARRIER_NAME.match(credentials["carrier"]):
        raise InvalidPspAccount.field("credentials.carrier", "must be a carrier name (a-z, 0-9 and '-')")
    if credentials["flow"] not in CARRIER_FLOWS:
        raise InvalidPspAccount.field("credentials.flow", "must be one_step or two_step")
