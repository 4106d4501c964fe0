"""Customers: validation and channel identities that make one person one customer."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from azotte_lifecycle.domain.customer import ChannelIdentity, Customer, IdentityKind
from azotte_platform.errors import InvalidArgument

NOW = datetime(2025, 4, 1, tzinfo=UTC)


def _customer() -> Customer:
    return Customer.create(
        customer_id="cus-1", tenant_id="t-1", external_id="u-42", email="Ann@Example.com", country_code="FR", now=NOW
    )


def test_one_customer_holds_identities_from_several_channels() -> None:
    customer = _customer()
    app_store = ChannelIdentity(IdentityKind.APP_STORE_ORIGINAL_TRANSACTION_ID, "2000000123")
    play = ChannelIdentity(IdentityKind.GOOGLE_PLAY_PURCHASE_TOKEN, "tok-abc")
    carrier = ChannelIdentity(IdentityKind.TELECOM_SUBSCRIBER_REF, "msisdn-hash", issuer="orange-fr")
    assert all(customer.link(identity) for identity in (app_store, play, carrier))
    assert customer.link(ChannelIdentity(IdentityKind.GOOGLE_PLAY_PURCHASE_TOKEN, "tok-abc")) is False
    assert len(customer.identities) == 3
    assert customer.email == "ann@example.com"


def test_invalid_customer_names_every_bad_field() -> None:
    with pytest.raises(InvalidArgument) as refused:
        Customer.create(customer_id="c", tenant_id="t", external_id="", email="nope", country_code="fra", now=NOW)
    assert {v.field for v in refused.value.violations} == {"external_id", "email", "country_code"}


def test_partner_and_carrier_identities_need_their_issuer() -> None:
    with pytest.raises(InvalidArgument):
        ChannelIdentity(IdentityKind.PARTNER_SUBSCRIBER_ID, "p-1")
