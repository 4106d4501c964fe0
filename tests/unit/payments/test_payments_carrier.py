"""Telecom carrier billing: CAMARA payment states as charge results, exact amounts, signed notifications, and a
charge that waits for the carrier instead of failing over."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from azotte_payments.adapters.psp.carrier import decimal_amount, phone_number, result_of
from azotte_payments.adapters.psp.carrier_notifications import TOLERANCE_S, sign, verify_carrier_notification
from azotte_payments.domain.charge import Charge, ChargeRequest, ChargeStatus
from azotte_payments.domain.declines import Decline, DeclineReason, Outcome, PspChargeResult
from azotte_payments.domain.psp_account import PspCredentials, PspKind, PspMode, validate_account
from azotte_payments.domain.psp_notice import PaymentStatusChanged
from azotte_payments.errors import InvalidPspAccount, PspWebhookRejected
from azotte_platform.tax import TaxMode, TaxPolicy

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SECRET = "cbn_test_secret"
CREDENTIALS = PspCredentials({"carrier": "sandbox", "api_key": "k", "notification_secret": SECRET, "flow": "two_step"})


@pytest.mark.parametrize(
    ("status", "outcome", "reason"),
    [
        ("succeeded", Outcome.APPROVED, None),
        ("denied", Outcome.SOFT_DECLINE, DeclineReason.DO_NOT_HONOR),
        ("cancelled", Outcome.SOFT_DECLINE, DeclineReason.DO_NOT_HONOR),
        ("processing", Outcome.RETRYABLE, DeclineReason.AWAITING_PSP),
        ("pending_validation", Outcome.RETRYABLE, DeclineReason.AWAITING_PSP),
        ("reserved", Outcome.RETRYABLE, DeclineReason.AWAITING_PSP),
        ("exploded", Outcome.RETRYABLE, DeclineReason.PROCESSING_ERROR),
    ],
)
def test_each_camara_state_is_a_charge_result(status: str, outcome: Outcome, reason: DeclineReason | None) -> None:
    result = result_of("carrier-es", {"paymentId": "pay_1", "paymentStatus": status, "denialReason": "no balance"})
    assert (result.outcome, result.reason) == (outcome, reason)
    if reason is not DeclineReason.PROCESSING_ERROR:
        assert result.psp_reference == "pay_1"
    assert result.unsettled is (reason is DeclineReason.AWAITING_PSP)


def test_a_denial_keeps_the_carriers_reason_for_support() -> None:
    result = result_of("carrier-es", {"paymentId": "p", "paymentStatus": "denied", "denialReason": "no balance"})
    assert result.decline == Decline(DeclineReason.DO_NOT_HONOR, "denied:no balance")


def test_amounts_are_exact_decimals_in_the_currencys_own_digits() -> None:
    assert [decimal_amount(499, "EUR"), decimal_amount(500, "JPY"), decimal_amount(1234, "KWD")] == [
        "4.99",
        "500",
        "1.234",
    ]
    assert Decimal(decimal_amount(10**18 + 1, "EUR")) == Decimal("10000000000000000.01")
    assert phone_number("tel:+34600000000") == phone_number("+34600000000") == "+34600000000"


def notification(**overrides: object) -> bytes:
    event = {
        "id": "evt_1",
        "source": "https://carrier.example",
        "type": "org.camaraproject.carrier-billing.v0.payment-completed",
        "specversion": "1.0",
        "time": "2026-03-01T00:00:00Z",
        "data": {"paymentId": "pay_1", "status": "succeeded", "description": "done"},
        **overrides,
    }
    return json.dumps(event).encode()


def test_a_signed_notification_names_the_payment_to_read_back() -> None:
    payload = notification()
    event = verify_carrier_notification(CREDENTIALS, payload, sign(payload, SECRET, int(time.time())))
    assert (event.event_id, event.notice) == ("evt_1", PaymentStatusChanged("pay_1"))
    assert event.event_type == "org.camaraproject.carrier-billing.v0.payment-completed"


def test_a_rotated_secret_still_verifies_among_several_signatures() -> None:
    payload, now = notification(), int(time.time())
    old = sign(payload, "cbn_old", now)
    both = f"{sign(payload, SECRET, now)},{old.split(',')[1]}"
    assert verify_carrier_notification(CREDENTIALS, payload, both).event_id == "evt_1"


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda p, now: (p.replace(b"pay_1", b"pay_2"), sign(p, SECRET, now)), id="body changed"),
        pytest.param(lambda p, now: (p, sign(p, "cbn_someone_else", now)), id="another secret"),
        pytest.param(lambda p, now: (p, sign(p, SECRET, now - TOLERANCE_S - 1)), id="replayed late"),
        pytest.param(lambda p, now: (p, ""), id="unsigned"),
        pytest.param(lambda p, now: (p, "t=abc,v1=00"), id="malformed"),
        pytest.param(lambda p, now: (p, f"t={10**40},v1=00"), id="absurd time"),
    ],
)
def test_forged_stale_or_unsigned_notifications_are_refused(tamper: object) -> None:
    payload, signature = tamper(notification(), int(time.time()))  # type: ignore[operator]
    with pytest.raises(PspWebhookRejected):
        verify_carrier_notification(CREDENTIALS, payload, signature)


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1]",
        notification(type="com.example.other"),
        notification(specversion="0.3"),
        notification(data={"status": "succeeded"}),
        notification(id=""),
    ],
)
def test_a_signed_payload_that_is_no_carrier_payment_event_is_refused(payload: bytes) -> None:
    with pytest.raises(PspWebhookRejected):
        verify_carrier_notification(CREDENTIALS, payload, sign(payload, SECRET, int(time.time())))


def test_a_carrier_account_names_its_carrier_and_flow() -> None:
    validate_account("carrier-es", PspKind.CARRIER, PspMode.SANDBOX, CREDENTIALS)
    validate_account(
        "carrier-es", PspKind.CARRIER, PspMode.LIVE, PspCredentials({**CREDENTIALS.values, "carrier": "movistar-es"})
    )
    with pytest.raises(InvalidPspAccount) as live_sandbox:
        validate_account("carrier-es", PspKind.CARRIER, PspMode.LIVE, CREDENTIALS)
    assert live_sandbox.value.violations[0].field == "account.mode"
    assert CREDENTIALS.hints()["flow"] == "two_step" and CREDENTIALS.hints()["carrier"] == "sandbox"
    assert CREDENTIALS.hints()["notification_secret"] != SECRET
    for name, value in (("flow", "three_step"), ("carrier", "Bad Name")):
        wrong = PspCredentials({**CREDENTIALS.values, name: value})
        with pytest.raises(InvalidPspAccount) as error:
            validate_account("carrier-es", PspKind.CARRIER, PspMode.SANDBOX, wrong)
        assert error.value.violations[0].field == f"credentials.{name}"


def awaiting_charge() -> Charge:
    request = ChargeRequest("cus_1", "es", "telecom", "pro", 499, "EUR", "pm_1", subscription_id="s", period_key="1")
    charge = Charge.create("ch_1", request, "k", "EUR", TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.21"), "ES"), 0, NOW)
    charge.begin_attempt("carrier-es", NOW)
    charge.complete_attempt(
        PspChargeResult.declined("carrier-es", Decline(DeclineReason.AWAITING_PSP, "pending_validation"), "pay_1"), NOW
    )
    charge.exhaust(NOW)
    return charge


def test_a_charge_the_carrier_has_not_decided_waits_unknown_without_failing_over() -> None:
    charge = awaiting_charge()
    assert charge.status is ChargeStatus.UNKNOWN and charge.decline is not None
    assert charge.decline.reason is DeclineReason.AWAITING_PSP and not charge.events
    assert [a.psp_reference for a in charge.unreconciled_attempts()] == ["pay_1"]


def test_the_carriers_later_answer_settles_the_waiting_charge() -> None:
    approved = awaiting_charge()
    approved.reconcile_attempt(1, PspChargeResult.approved("carrier-es", "pay_1"), NOW)
    assert (approved.status, approved.psp_reference) == (ChargeStatus.SUCCEEDED, "pay_1")

    denied = awaiting_charge()
    denied.reconcile_attempt(1, result_of("carrier-es", {"paymentId": "pay_1", "paymentStatus": "denied"}), NOW)
    assert denied.status is ChargeStatus.FAILED and denied.outcome is Outcome.SOFT_DECLINE

    still = awaiting_charge()
    still.reconcile_attempt(1, result_of("carrier-es", {"paymentId": "pay_1", "paymentStatus": "processing"}), NOW)
    assert still.status is ChargeStatus.UNKNOWN and still.unreconciled_attempts()
