from dataclasses import asdict, replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from azotte_payments import errors
from azotte_payments.domain.charge import Charge, ChargeRequest, ChargeStatus, ReconcileAction
from azotte_payments.domain.declines import Decline, DeclineReason, PspChargeResult
from azotte_payments.domain.events import ChargeFailed, ChargeSucceeded
from azotte_payments.domain.idempotency import IdempotentRecord, replay_or_none, request_fingerprint
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_platform.errors import FailedPrecondition, InvalidArgument
from azotte_platform.tax import TaxMode, TaxPolicy

NOW = datetime(2025, 3, 1, tzinfo=UTC)
DE_VAT = TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"), "DE")


def request(price: int = 999, currency: str = "EUR") -> ChargeRequest:
    return ChargeRequest(
        "cus_1", "sf_de", "web", "plan_pro", price, currency, "pm_1", subscription_id="sub_1", period_key="2025-03"
    )


def create(price: int = 999, currency: str = "EUR", credit: int = 0) -> Charge:
    return Charge.create("ch_1", request(price, currency), "key-1", "EUR", DE_VAT, credit, NOW)


def test_charge_carries_gross_tax_and_net() -> None:
    charge = create()
    assert (charge.amounts.gross_minor, charge.amounts.tax_minor, charge.amounts.net_minor) == (999, 160, 839)
    assert charge.status is ChargeStatus.PENDING


def test_currency_must_match_the_storefront() -> None:
    with pytest.raises(errors.CurrencyMismatch) as error:
        create(currency="USD")
    assert error.value.violations[0].field == "amount.currency_code"
    assert error.value.reason == "CURRENCY_MISMATCH"


def test_negative_amount_is_rejected() -> None:
    with pytest.raises(InvalidArgument) as error:
        create(price=-5)
    assert error.value.violations[0].field == "amount"


def test_attempt_is_recorded_pending_before_the_psp_answers() -> None:
    charge = create()
    attempt = charge.begin_attempt("stripe", NOW)
    assert attempt.pending and charge.attempts == [attempt]
    assert attempt.psp_idempotency_key == "ch_1:stripe"
    with pytest.raises(FailedPrecondition):
        charge.begin_attempt("adyen", NOW)


def test_approval_succeeds_and_records_the_event() -> None:
    charge = create()
    charge.begin_attempt("stripe", NOW)
    charge.complete_attempt(PspChargeResult.approved("stripe", "ch_psp"), NOW)
    assert charge.status is ChargeStatus.SUCCEEDED
    assert charge.events == [ChargeSucceeded(charge)]
    assert charge.amounts.gross_minor == 999


def test_decline_fails_with_the_normalized_reason() -> None:
    charge = create()
    charge.begin_attempt("stripe", NOW)
    charge.complete_attempt(
        PspChargeResult.declined("stripe", Decline(DeclineReason.INSUFFICIENT_FUNDS, "insufficient_funds")), NOW
    )
    assert charge.status is ChargeStatus.FAILED
    assert charge.events == [ChargeFailed(charge)]
    assert charge.decline is not None and charge.decline.reason is DeclineReason.INSUFFICIENT_FUNDS


def timed_out_charge() -> Charge:
    charge = create()
    charge.begin_attempt("stripe", NOW)
    charge.complete_attempt(PspChargeResult.declined("stripe", Decline(DeclineReason.TIMEOUT)), NOW)
    charge.exhaust(NOW)
    return charge


def test_unknown_charge_reconciles_to_succeeded_when_the_psp_captured() -> None:
    charge = timed_out_charge()
    assert charge.status is ChargeStatus.UNKNOWN
    action = charge.reconcile_attempt(1, PspChargeResult.approved("stripe", "ch_late"), NOW)
    assert action is ReconcileAction.NONE
    assert (charge.status, charge.psp_reference) == (ChargeStatus.SUCCEEDED, "ch_late")


def test_unknown_charge_reconciles_to_failed_when_the_psp_never_saw_it() -> None:
    charge = timed_out_charge()
    charge.reconcile_attempt(1, None, NOW)
    assert charge.status is ChargeStatus.FAILED


def test_late_capture_after_failover_success_must_be_voided() -> None:
    charge = create()
    charge.begin_attempt("stripe", NOW)
    charge.complete_attempt(PspChargeResult.declined("stripe", Decline(DeclineReason.TIMEOUT)), NOW)
    charge.begin_attempt("adyen", NOW)
    charge.complete_attempt(PspChargeResult.approved("adyen", "ADY1"), NOW)
    action = charge.reconcile_attempt(1, PspChargeResult.approved("stripe", "ch_late"), NOW)
    assert action is ReconcileAction.VOID_DUPLICATE
    assert charge.psp_reference == "ADY1"


def test_credit_covering_everything_never_needs_a_psp() -> None:
    charge = create(credit=5_000)
    assert charge.status is ChargeStatus.SUCCEEDED
    assert (charge.credit_applied_minor, charge.psp_amount_minor) == (999, 0)
    assert not charge.needs_psp


def test_partial_credit_leaves_the_rest_to_the_psp() -> None:
    charge = create(credit=300)
    assert (charge.credit_applied_minor, charge.psp_amount_minor) == (300, 699)
    assert charge.needs_psp


def test_void_only_from_succeeded() -> None:
    charge = create()
    with pytest.raises(FailedPrecondition, match="pending"):
        charge.void()


def test_same_key_same_content_replays_the_first_result() -> None:
    stored = IdempotentRecord("key-1", request().fingerprint(), "ch_1")
    assert replay_or_none(stored, "key-1", request().fingerprint()) == "ch_1"
    assert replay_or_none(None, "key-1", request().fingerprint()) is None


def test_same_key_different_content_is_a_conflict() -> None:
    stored = IdempotentRecord("key-1", request().fingerprint(), "ch_1")
    with pytest.raises(errors.IdempotencyKeyReused) as error:
        replay_or_none(stored, "key-1", request(price=1000).fingerprint())
    assert error.value.reason == "IDEMPOTENCY_KEY_REUSED"


def test_a_charge_command_fingerprint_is_the_digest_stored_charges_were_given() -> None:
    """Replays compare against fingerprints already stored: every field but the key, tax policy included."""
    taxed = CreateCharge("key-1", "cus_1", "sf_de", "web", "plan_pro", 999, "EUR", tax_policy=DE_VAT)
    untaxed = CreateCharge("key-2", "cus_1", "sf_de", "web", "plan_pro", 999, "EUR")
    for command in (taxed, untaxed):
        content = asdict(command)
        del content["idempotency_key"], content["lines"]  # a charge without lines keeps its digest
        assert command.fingerprint() == request_fingerprint(content)
    assert replace(untaxed, idempotency_key="key-3").fingerprint() == untaxed.fingerprint()
    assert taxed.fingerprint() != replace(taxed, tax_policy=None).fingerprint()
