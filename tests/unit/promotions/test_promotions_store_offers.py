"""Store offers over fakes: a promotion mapped to an App Store promotional offer and a Google Play offer, and the
offer signed for one purchase with the tenant's subscription key, as Apple verifies it (ECDSA P-256, SHA-256, over
the fields joined by U+2063)."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.enums import Channel
from azotte_platform.errors import InvalidArgument
from azotte_promotions.adapters import proto
from azotte_promotions.adapters.repositories.promotions import definition_from_json, definition_to_json
from azotte_promotions.domain.eligibility import Checkout
from azotte_promotions.domain.promotion import Limits, Targets
from azotte_promotions.domain.redemption import Redemption, RedemptionState
from azotte_promotions.domain.store_offers import StoreOffers, SubscriptionKey
from azotte_promotions.errors import (
    InvalidPromotion,
    PromotionExhausted,
    StoreOfferNotFound,
    StoreOfferUnavailable,
    SubscriptionKeyMissing,
)
from azotte_promotions.service_layer import store_offers
from tests.unit.promotions.conftest import T0, TENANT, UseCases, definition

PRODUCT = "com.example.ott.premium.monthly"
TOKEN = "6B29FC40-CA47-1067-B31D-00DD010662DA"


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    encoded = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encoded.decode()


@pytest.fixture
def signing_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


async def set_key(use_cases: UseCases, key: ec.EllipticCurvePrivateKey) -> None:
    kept = SubscriptionKey(TENANT, "KEY123ABCD", "com.example.ott", private_key_pem(key))
    await use_cases.run(lambda uow: store_offers.set_subscription_key(uow, kept))


async def sign(use_cases: UseCases, promotion_id: str, token: str = TOKEN) -> store_offers.SignedOffer:
    return await use_cases.run(lambda uow: store_offers.sign_app_store_offer(uow, TENANT, promotion_id, PRODUCT, token))


async def mapped(use_cases: UseCases, **fields: Any) -> str:
    offers = StoreOffers("premiere_50", "premiere-50", "premiere")
    return await use_cases.active(store_offers=offers, **fields)


async def test_the_offer_is_signed_as_apple_verifies_it(
    use_cases: UseCases, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    await set_key(use_cases, signing_key)
    signed = await sign(use_cases, await mapped(use_cases))
    offer = signed.offer
    assert (offer.offer_id, offer.key_id, offer.timestamp_ms) == (
        "premiere_50",
        "KEY123ABCD",
        int(T0.timestamp() * 1000),
    )
    assert uuid.UUID(offer.nonce).version == 4 and offer.nonce == offer.nonce.lower()
    fields = [
        "com.example.ott",
        "KEY123ABCD",
        PRODUCT,
        "premiere_50",
        TOKEN.lower(),
        offer.nonce,
        str(offer.timestamp_ms),
    ]
    signed_text = "\u2063".join(fields).encode()
    public_key = signing_key.public_key()
    public_key.verify(base64.b64decode(signed.signature), signed_text, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):  # another product: not what was signed
        public_key.verify(
            base64.b64decode(signed.signature), signed_text.replace(b"monthly", b"annual"), ec.ECDSA(hashes.SHA256())
        )
    again = await sign(use_cases, await mapped(use_cases))
    assert again.offer.nonce != offer.nonce  # each purchase gets its own nonce


async def test_an_offer_is_refused_without_a_mapping_a_key_or_outside_the_app_store(
    use_cases: UseCases, signing_key: ec.EllipticCurvePrivateKey
) -> None:
    promotion = await mapped(use_cases)
    with pytest.raises(SubscriptionKeyMissing):
        await sign(use_cases, promotion)
    await set_key(use_cases, signing_key)
    with pytest.raises(StoreOfferUnavailable):
        await sign(use_cases, await use_cases.active())  # mapped to no App Store offer
    with pytest.raises(StoreOfferUnavailable):
        await sign(use_cases, await mapped(use_cases, targets=Targets(channels=frozenset({Channel.WEB}))))
    with pytest.raises(InvalidArgument) as bad_token:
        await sign(use_cases, promotion, token="not-a-uuid")
    assert bad_token.value.violations[0].field == "app_account_token"


async def test_a_subscription_key_must_be_a_p256_private_key(use_cases: UseCases) -> None:
    p384 = private_key_pem(ec.generate_private_key(ec.SECP384R1()))
    for pem in ("not a key", p384):
        key = SubscriptionKey(TENANT, "K1", "com.x", pem)
        with pytest.raises(InvalidArgument) as refused:
            await use_cases.run(partial(store_offers.set_subscription_key, key=key))
        assert refused.value.violations[0].field == "private_key_pem"


def test_store_offer_ids_are_what_each_store_accepts() -> None:
    with pytest.raises(InvalidPromotion) as refused:
        definition(store_offers=StoreOffers(google_play_offer_id="Not Valid")).check()
    assert refused.value.violations[0].field == "store_offers.google_play_offer_id"


def test_the_mapping_is_kept_and_answered_with_the_promotion() -> None:
    sent = pb.Promotion(
        display_name="Premiere",
        discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=5_000),
        store_offers=pb.StoreOffers(app_store_offer_id="premiere_50", google_play_offer_tag="premiere"),
    )
    stored = definition_from_json(definition_to_json(proto.definition_from_pb(sent)))
    assert stored.store_offers == StoreOffers("premiere_50", "", "premiere")
    assert definition_from_json({**definition_to_json(stored), "store_offers": {}}).store_offers == StoreOffers()


def store_purchase(customer: str, transaction: str, channel: Channel = Channel.APP_STORE) -> Any:
    checkout = Checkout(999, "USD", customer, plan_id="premium", storefront_id="us")
    offer = "premiere_50" if channel is Channel.APP_STORE else "premiere-50"
    return store_offers.StoreRedemption(f"store-{transaction}", channel, offer, checkout, transaction)


async def test_store_redemptions_count_against_the_same_limit_as_web_checkouts(use_cases: UseCases) -> None:
    promotion_id = await mapped(use_cases, limits=Limits(max_redemptions=2))
    ttl = timedelta(minutes=15)

    async def report(purchase: Any) -> Redemption:
        return await use_cases.run(lambda uow: store_offers.record_store_redemption(uow, TENANT, purchase, ttl))

    apple = await report(store_purchase("ana", "1000000001"))
    google = await report(store_purchase("bob", "GPA.1234", Channel.GOOGLE_PLAY))
    assert (apple.state, apple.charge_id, apple.channel) == (
        RedemptionState.CONFIRMED,
        "app_store:1000000001",
        Channel.APP_STORE,
    )
    assert (google.promotion_id, google.channel, google.discount_minor) == (promotion_id, Channel.GOOGLE_PLAY, 500)
    with pytest.raises(PromotionExhausted):
        await report(store_purchase("cy", "1000000002"))
    with pytest.raises(StoreOfferNotFound):
        await report(store_offers.StoreRedemption("r", Channel.APP_STORE, "unknown", Checkout(1, "USD", "ana"), "t"))
    assert use_cases.uow.published_types().count("promotion.redeemed") == 2
