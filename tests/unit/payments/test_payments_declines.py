import pytest

from azotte_payments.adapters.psp.adyen_like import normalize_adyen_refusal
from azotte_payments.adapters.psp.stripe_like import normalize_stripe_decline
from azotte_payments.domain.declines import DeclineReason, Outcome, outcome_for


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        (DeclineReason.INSUFFICIENT_FUNDS, Outcome.SOFT_DECLINE),
        (DeclineReason.DO_NOT_HONOR, Outcome.SOFT_DECLINE),
        (DeclineReason.STOLEN_CARD, Outcome.HARD_DECLINE),
        (DeclineReason.LOST_CARD, Outcome.HARD_DECLINE),
        (DeclineReason.EXPIRED_CARD, Outcome.HARD_DECLINE),
        (DeclineReason.PROCESSING_ERROR, Outcome.RETRYABLE),
        (DeclineReason.TIMEOUT, Outcome.RETRYABLE),
        (DeclineReason.PSP_UNAVAILABLE, Outcome.RETRYABLE),
    ],
)
def test_reasons_are_classified(reason: DeclineReason, outcome: Outcome) -> None:
    assert outcome_for(reason) is outcome


def test_every_reason_has_a_classification() -> None:
    assert {outcome_for(reason) for reason in DeclineReason} <= set(Outcome) - {Outcome.APPROVED}


@pytest.mark.parametrize(
    ("code", "decline_code", "reason"),
    [
        ("card_declined", "insufficient_funds", DeclineReason.INSUFFICIENT_FUNDS),
        ("card_declined", "do_not_honor", DeclineReason.DO_NOT_HONOR),
        ("card_declined", "stolen_card", DeclineReason.STOLEN_CARD),
        ("card_declined", "lost_card", DeclineReason.LOST_CARD),
        ("expired_card", "", DeclineReason.EXPIRED_CARD),
        ("processing_error", "", DeclineReason.PROCESSING_ERROR),
        ("card_declined", "something_new", DeclineReason.UNKNOWN_DECLINE),
    ],
)
def test_stripe_like_codes_are_normalized(code: str, decline_code: str, reason: DeclineReason) -> None:
    assert normalize_stripe_decline(code, decline_code) is reason


@pytest.mark.parametrize(
    ("result_code", "refusal_code", "raw", "reason"),
    [
        ("Refused", "12", "51 : Insufficient funds", DeclineReason.INSUFFICIENT_FUNDS),
        ("Refused", "2", "05 : Do not honor", DeclineReason.DO_NOT_HONOR),
        ("Refused", "5", "43 : Stolen card, pick up", DeclineReason.STOLEN_CARD),
        ("Refused", "5", "41 : Lost card, pick up", DeclineReason.LOST_CARD),
        ("Refused", "6", "54 : Expired card", DeclineReason.EXPIRED_CARD),
        ("Error", "4", "96 : System malfunction", DeclineReason.PROCESSING_ERROR),
        ("Refused", "99", "", DeclineReason.UNKNOWN_DECLINE),
    ],
)
def test_adyen_like_refusals_are_normalized(
    result_code: str, refusal_code: str, raw: str, reason: DeclineReason
) -> None:
    assert normalize_adyen_refusal(result_code, refusal_code, raw) is reason
