"""Customers and the channel identities that make one person one customer across channels."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from azotte_platform.errors import FieldViolation, InvalidArgument

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


class IdentityKind(StrEnum):
    """Kinds of identifiers a channel knows a subscriber by."""

    APP_STORE_ORIGINAL_TRANSACTION_ID = "app_store_original_transaction_id"
    APP_STORE_APP_ACCOUNT_TOKEN = "app_store_app_account_token"
    GOOGLE_PLAY_PURCHASE_TOKEN = "google_play_purchase_token"
    GOOGLE_PLAY_OBFUSCATED_ACCOUNT_ID = "google_play_obfuscated_account_id"
    TELECOM_SUBSCRIBER_REF = "telecom_subscriber_ref"
    PARTNER_SUBSCRIBER_ID = "partner_subscriber_id"


@dataclass(frozen=True, slots=True)
class ChannelIdentity:
    """An identifier of a subscriber in a channel; `issuer` scopes it (carrier or partner id)."""

    kind: IdentityKind
    value: str
    issuer: str = ""

    def __post_init__(self) -> None:
        if not self.value:
            raise InvalidArgument.field("identity.value", "is required")
        scoped = (IdentityKind.TELECOM_SUBSCRIBER_REF, IdentityKind.PARTNER_SUBSCRIBER_ID)
        if self.kind in scoped and not self.issuer:
            raise InvalidArgument.field("identity.issuer", f"{self.kind} needs the carrier or partner id")


@dataclass(eq=False)
class Customer:
    """A tenant's customer, identified by the tenant's external id and by channel identities."""

    id: str
    tenant_id: str
    external_id: str
    email: str
    country_code: str
    created_at: datetime
    identities: set[ChannelIdentity] = field(default_factory=set)

    @classmethod
    def create(
        cls,
        *,
        customer_id: str,
        tenant_id: str,
        external_id: str,
        email: str,
        country_code: str,
        now: datetime,
    ) -> Customer:
        """Validate and build a customer."""
        violations: list[FieldViolation] = []
        if not external_id:
            violations.append(FieldViolation("external_id", "is required"))
        if email and not _EMAIL.match(email):
            violations.append(FieldViolation("email", "is not an email address"))
        if not _COUNTRY.match(country_code):
            violations.append(FieldViolation("country_code", "must be an ISO 3166-1 alpha-2 code such as FR"))
        if violations:
            raise InvalidArgument("invalid customer", violations)
        return cls(customer_id, tenant_id, external_id, email.lower(), country_code, now)

    def link(self, identity: ChannelIdentity) -> bool:
        """Attach a channel identity; returns False when it was already linked.

        The repository's unique key (tenant, kind, issuer, value) rejects an identity already
        linked to another customer.
        """
        if identity in self.identities:
            return False
        self.identities.add(identity)
        return True
