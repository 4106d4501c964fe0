"""Partners' wholesale terms: each period a partner bills booked once at the catalog price on the partner
channel, the partner's part (what the tenant's revenue share leaves) as its commission."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from azotte.common.v1 import channel_pb2
from azotte.gateway.v1 import channel_apps_pb2 as ca
from azotte_gateway.domain.channel_accounts import Partner
from azotte_gateway.domain.permissions import Role
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import InvalidArgument
from tests.unit.gateway.fakes import NOW, PRICE_MINOR, TENANT, FakeSuite, caller
from tests.unit.gateway.test_gateway_partners import configure, event, public_pem, signed
from tests.unit.gateway.test_gateway_partners import suite as suite

PEM = public_pem(ed25519.Ed25519PrivateKey.generate())


async def create(gateway: Gateway, partner: ca.Partner) -> ca.Partner:
    admin = caller(Role.ADMIN)
    with admin.scope():
        created = await gateway.channel_accounts.create_partner(
            admin, ca.CreatePartnerRequest(request_id=uuid.uuid4().hex, partner=partner)
        )
    return created.partner


@pytest.mark.parametrize(("share_bps", "rate"), [(7000, "0.3"), (10_000, "0"), (0, "1"), (8550, "0.145")])
def test_the_partners_part_is_what_the_tenants_share_leaves(share_bps: int, rate: str) -> None:
    partner = Partner(TENANT.id, "bundle", PEM, revenue_share_bps=share_bps)
    assert partner.commission_rate == Decimal(rate)


@pytest.mark.parametrize("share_bps", [-1, 10_001])
async def test_a_share_outside_0_to_10000_bps_is_refused_naming_its_field(suite: FakeSuite, share_bps: int) -> None:
    gateway = suite.gateway()
    with pytest.raises(InvalidArgument) as refused:
        await create(gateway, ca.Partner(partner_id="bundle", public_key_pem=PEM, revenue_share_bps=share_bps))
    assert [v.field for v in refused.value.violations] == ["partner.revenue_share_bps"]
    admin = caller(Role.ADMIN)
    with admin.scope():
        listed = await gateway.channel_accounts.list_partners(admin, ca.ListPartnersRequest())
    assert list(listed.partners) == []


async def test_a_partner_without_terms_leaves_the_whole_price_to_the_tenant(suite: FakeSuite) -> None:
    created = await create(suite.gateway(), ca.Partner(partner_id="bundle", public_key_pem=PEM))
    assert created.revenue_share_bps == 10_000


async def test_activation_and_renewal_each_book_one_sale_and_a_resent_period_books_none(suite: FakeSuite) -> None:
    gateway = suite.gateway()
    key = ed25519.Ed25519PrivateKey.generate()
    await create(gateway, ca.Partner(partner_id="bundle", public_key_pem=public_pem(key), revenue_share_bps=7000))
    later = NOW + timedelta(days=30)
    activate = event("activate", "e-1")
    renew = event("renew", "e-2", occur_time=later.isoformat(), period_end=(later + timedelta(days=30)).isoformat())
    for events in ([activate], [renew], [renew], [{**renew, "event_id": "e-2-resent"}]):
        await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", signed(key, "EdDSA", events))
    # Each call is booked under its period's request id: payments answers a repeated one with the first sale.
    sales = suite.payments.store_sales
    assert len({s.request_id for s in sales}) == 2
    assert [s.request_id for s in sales[2:]] == [sales[1].request_id, sales[1].request_id]
    assert {(s.channel, s.commission_rate, s.price.amount_minor, s.sale_id == s.request_id) for s in sales} == {
        (channel_pb2.CHANNEL_PARTNER, "0.3", PRICE_MINOR, True)
    }
    assert [s.occur_time.ToDatetime(NOW.tzinfo) for s in sales[:2]] == [
        NOW - timedelta(minutes=1),
        later,
    ]


async def test_suspend_resume_cancel_and_expire_book_nothing(suite: FakeSuite) -> None:
    gateway = suite.gateway()
    key = ed25519.Ed25519PrivateKey.generate()
    await configure(gateway, key)
    events = [event(kind, f"e-{kind}") for kind in ("suspend", "resume", "cancel", "expire")]
    answers = await gateway.channel_accounts.receive_partner_events(TENANT.id, "bundle", signed(key, "EdDSA", events))
    assert [a.error for a in answers] == [None] * 4
    assert suite.payments.store_sales == []
