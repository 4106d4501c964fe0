"""Adyen: notifications verified by the HMAC of their item with the account's key, what each event code tells
payments, refusal codes, the shopper of a card, and the credentials an Adyen account needs."""

from __future__ import annotations

import json
from typing import Any

import pytest

from azotte_payments.adapters.psp.adyen import AdyenPsp, NotADropInMethod, card_of, shopper_reference
from azotte_payments.adapters.psp.adyen_like import normalize_adyen_refusal
from azotte_payments.adapters.psp.webhooks import PspWebhookVerifiers, adyen_notice
from azotte_payments.domain.declines import DeclineReason
from azotte_payments.domain.psp_account import PspCredentials, PspKind, PspMode, validate_account
from azotte_payments.domain.psp_notice import DisputeNotice, PaymentAuthenticated
from azotte_payments.errors import InvalidPspAccount, PspUnavailable, PspWebhookRejected
from azotte_payments.ports import PspWebhookEvent
from azotte_payments.sandbox_psp.adyen_api import sign_item

HMAC_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
CREDENTIALS = PspCredentials({"api_key": "AQE_unit", "merchant_account": "TenantECOM", "hmac_key": HMAC_KEY})


def item(event_code: str = "AUTHORISATION", **fields: Any) -> dict[str, Any]:
    return {
        "eventCode": event_code,
        "success": "true",
        "merchantAccountCode": "TenantECOM",
        "pspReference": "7914073381342284",
        "originalReference": "",
        "merchantReference": "charge-key-1",
        "amount": {"value": 1190, "currency": "EUR"},
        "reason": "",
        **fields,
    }


def notification(fields: dict[str, Any], hmac_key: str = HMAC_KEY, **extra: str) -> bytes:
    signed = {**fields, "additionalData": {**extra, "hmacSignature": sign_item(fields, hmac_key)}}
    return json.dumps({"live": "false", "notificationItems": [{"NotificationRequestItem": signed}]}).encode()


def verify(payload: bytes) -> PspWebhookEvent:
    return PspWebhookVerifiers().verify(PspKind.ADYEN, CREDENTIALS, payload, "")


def test_a_signed_notification_verifies_and_is_named_by_its_reference_code_and_success() -> None:
    event = verify(notification(item()))

    assert (event.event_id, event.event_type) == ("7914073381342284:AUTHORISATION:true", "AUTHORISATION")
    assert event.notice == PaymentAuthenticated("7914073381342284")


@pytest.mark.parametrize(
    "payload",
    [
        notification(item(), hmac_key="00" * 32),  # another account's key
        notification(item()).replace(b'"value": 1190', b'"value": 1'),  # amount changed after signing
        json.dumps({"notificationItems": [{"NotificationRequestItem": item()}]}).encode(),  # unsigned
        notification(item(merchantAccountCode="SomeoneElse")),  # signed, for another merchant account
        b"[accepted]",
        b"\xff\xfe",
        json.dumps({"notificationItems": []}).encode(),
        json.dumps({"notificationItems": [{"NotificationRequestItem": {"eventCode": "AUTHORISATION"}}]}).encode(),
    ],
)
def test_forged_or_malformed_notifications_are_refused(payload: bytes) -> None:
    with pytest.raises(PspWebhookRejected):
        verify(payload)


def test_chargebacks_are_disputes_of_their_original_payment() -> None:
    fraud = "Other Fraud-Card Absent Environment"
    opened = adyen_notice(item("CHARGEBACK", pspReference="D1", originalReference="P1", reason=fraud))
    lost = adyen_notice(
        item("CHARGEBACK", pspReference="D1", originalReference="P1", additionalData={"disputeStatus": "Lost"})
    )
    reversed_ = adyen_notice(item("CHARGEBACK_REVERSED", pspReference="D1", originalReference="P1"))

    assert opened == DisputeNotice("D1", "P1", "EUR", 1190, 0, fraud, closed=False, won=False)
    assert isinstance(lost, DisputeNotice) and (lost.closed, lost.won) == (True, False)
    assert isinstance(reversed_, DisputeNotice) and (reversed_.closed, reversed_.won) == (True, True)
    notice = adyen_notice(item("NOTIFICATION_OF_CHARGEBACK", pspReference="D1", originalReference="P1"))
    assert isinstance(notice, DisputeNotice) and not notice.closed


@pytest.mark.parametrize(
    "fields",
    [item("AUTHORISATION", success="false"), item("REFUND", originalReference="P1"), item("REPORT_AVAILABLE")],
)
def test_failed_authorisations_refunds_and_other_codes_are_only_acknowledged(fields: dict[str, Any]) -> None:
    assert adyen_notice(fields) is None


@pytest.mark.parametrize(
    ("code", "raw", "reason"),
    [
        ("12", "", DeclineReason.INSUFFICIENT_FUNDS),
        ("2", "", DeclineReason.DO_NOT_HONOR),
        ("6", "", DeclineReason.EXPIRED_CARD),
        ("38", "", DeclineReason.AUTHENTICATION_REQUIRED),
        ("5", "LOST CARD", DeclineReason.LOST_CARD),
    ],
)
def test_refusal_codes_are_normalized(code: str, raw: str, reason: DeclineReason) -> None:
    assert normalize_adyen_refusal("Refused", code, raw) is reason


def test_each_card_of_a_customer_is_its_own_shopper_and_a_token_must_be_a_drop_in_method() -> None:
    visa, mastercard = '{"type":"scheme","encryptedCardNumber":"a"}', '{"type":"scheme","encryptedCardNumber":"b"}'

    assert shopper_reference("cus_1", visa) == shopper_reference("cus_1", visa)
    assert shopper_reference("cus_1", visa) != shopper_reference("cus_1", mastercard)
    assert card_of(visa)["encryptedCardNumber"] == "a"
    for token in ("tok_visa", "[]", '{"encryptedCardNumber":"a"}'):
        with pytest.raises(NotADropInMethod):
            card_of(token)


@pytest.mark.parametrize(
    ("mode", "credentials", "field"),
    [
        (PspMode.SANDBOX, {"api_key": "k", "merchant_account": "M"}, "credentials.hmac_key"),
        (PspMode.SANDBOX, {"api_key": "k", "merchant_account": "M", "hmac_key": "not-hex"}, "credentials.hmac_key"),
        (PspMode.LIVE, {"api_key": "k", "merchant_account": "M", "hmac_key": HMAC_KEY}, "credentials.live_url_prefix"),
        (
            PspMode.SANDBOX,
            {"api_key": "k", "merchant_account": "M", "hmac_key": HMAC_KEY, "live_url_prefix": "abc"},
            "credentials.live_url_prefix",
        ),
    ],
)
def test_an_adyen_account_needs_its_key_merchant_account_and_hmac_key(
    mode: PspMode, credentials: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidPspAccount) as refused:
        validate_account("adyen-eu", PspKind.ADYEN, mode, PspCredentials(credentials))
    assert refused.value.violations[0].field == field


def test_a_live_adyen_account_names_its_live_url_prefix_which_is_not_secret() -> None:
    credentials = PspCredentials({**CREDENTIALS.values, "live_url_prefix": "1797a841fbb37ca7-AdyenDemo"})

    validate_account("adyen-live", PspKind.ADYEN, PspMode.LIVE, credentials)
    hints = credentials.hints()
    assert (hints["merchant_account"], hints["live_url_prefix"]) == ("TenantECOM", "1797a841fbb37ca7-AdyenDemo")
    assert HMAC_KEY not in hints["hmac_key"]


async def test_adyen_cannot_be_asked_for_an_attempt_so_a_timed_out_one_is_never_taken_for_uncharged() -> None:
    psp = AdyenPsp("adyen-eu", "AQE_unit", "TenantECOM", checkout_url="http://127.0.0.1:9")

    # NOTE: None would mean "nothing captured" and let the charge be collected again elsewhere.
    with pytest.raises(PspUnavailable):
        await psp.lookup("ch_1:adyen-eu:1")
