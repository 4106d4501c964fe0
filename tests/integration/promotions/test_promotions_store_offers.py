"""Store offers over gRPC on real PostgreSQL: the tenant's App Store subscription key is kept (never answered), a
promotion maps to an App Store promotional offer, and the offer it signs verifies with the key's public half; a
tenant without a key, or a promotion without the mapping, is refused."""

from __future__ import annotations

import base64

import grpc
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from azotte.common.v1 import channel_pb2
from azotte.promotions.v1 import promotions_pb2 as pb
from tests.integration.promotions.conftest import Service
from tests.integration.promotions.promotions_support import active_promotion, checkout, percent_off, rid

PRODUCT = "com.example.ott.premium.monthly"
TOKEN = "0c0ffee0-1234-4abc-8def-0123456789ab"


async def test_a_mapped_promotions_app_store_offer_is_signed_with_the_tenants_key(service: Service) -> None:
    signing_key = ec.generate_private_key(ec.SECP256R1())
    pem = signing_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    mapped = await active_promotion(service, percent_off(store_offers=pb.StoreOffers(app_store_offer_id="spring_50")))
    sign = pb.SignAppStoreOfferRequest(promotion_id=mapped.id, product_id=PRODUCT, app_account_token=TOKEN)
    with pytest.raises(grpc.aio.AioRpcError) as no_key:
        await service.stub.SignAppStoreOffer(sign, metadata=service.metadata)
    assert no_key.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "APP_STORE_SUBSCRIPTION_KEY_MISSING" in str(no_key.value.trailing_metadata())

    key = pb.SetAppStoreSubscriptionKeyRequest(
        request_id=rid(), key_id="ABC123DEFG", bundle_id="com.example.ott", private_key_pem=pem
    )
    kept = await service.stub.SetAppStoreSubscriptionKey(key, metadata=service.metadata)
    assert (kept.key_id, kept.bundle_id) == ("ABC123DEFG", "com.example.ott")
    assert "PRIVATE KEY" not in str(kept)

    offer = (await service.stub.SignAppStoreOffer(sign, metadata=service.metadata)).offer
    signed = "\u2063".join(
        ["com.example.ott", "ABC123DEFG", PRODUCT, "spring_50", TOKEN, offer.nonce, str(offer.timestamp_ms)]
    )
    signing_key.public_key().verify(base64.b64decode(offer.signature), signed.encode(), ec.ECDSA(hashes.SHA256()))
    assert (offer.offer_id, offer.key_id) == ("spring_50", "ABC123DEFG")

    unmapped = await active_promotion(service, percent_off())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await service.stub.SignAppStoreOffer(
            pb.SignAppStoreOfferRequest(promotion_id=unmapped.id, product_id=PRODUCT, app_account_token=TOKEN),
            metadata=service.metadata,
        )
    assert "STORE_OFFER_UNAVAILABLE" in str(refused.value.trailing_metadata())


async def test_a_store_reported_redemption_counts_against_the_promotions_limit(service: Service) -> None:
    offers = pb.StoreOffers(app_store_offer_id="one_left", google_play_offer_id="one-left")
    promotion = await active_promotion(service, percent_off(limits=pb.Limits(max_redemptions=1), store_offers=offers))

    def report(channel: channel_pb2.Channel.ValueType, offer_id: str, customer: str) -> pb.RecordStoreRedemptionRequest:
        return pb.RecordStoreRedemptionRequest(
            request_id=rid(), channel=channel, offer_id=offer_id, checkout=checkout(customer), transaction_id=rid()
        )

    recorded = await service.stub.RecordStoreRedemption(
        report(channel_pb2.CHANNEL_GOOGLE_PLAY, "one-left", "ana"), metadata=service.metadata
    )
    assert (recorded.redemption.promotion_id, recorded.redemption.state) == (
        promotion.id,
        pb.REDEMPTION_STATE_CONFIRMED,
    )
    with pytest.raises(grpc.aio.AioRpcError) as exhausted:
        await service.stub.RecordStoreRedemption(
            report(channel_pb2.CHANNEL_APP_STORE, "one_left", "bob"), metadata=service.metadata
        )
    assert exhausted.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
