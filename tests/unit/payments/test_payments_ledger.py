from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from azotte_payments.domain.charge import Charge, ChargeRequest
from azotte_payments.domain.credit import CreditBalance, CreditReason
from azotte_payments.domain.declines import PspChargeResult
from azotte_payments.domain.ledger import (
    Account,
    Dimensions,
    GroupBy,
    JournalEntry,
    postings_for_charge,
    postings_for_credit_grant,
    postings_for_refund,
    revenue_recorded,
    revenue_report,
    trial_balance,
)
from azotte_payments.domain.refund import RefundDestination, RefundStatus, apply_refund, plan_refund
from azotte_platform.tax import TaxMode, TaxPolicy

MARCH, APRIL = datetime(2025, 3, 10, tzinfo=UTC), datetime(2025, 4, 2, tzinfo=UTC)
DE_VAT = TaxPolicy(TaxMode.INCLUSIVE, Decimal("0.19"), "DE")
US_TAX = TaxPolicy(TaxMode.EXCLUSIVE, Decimal("0.10"), "US")


def settle(charge: Charge, now: datetime) -> None:
    if charge.needs_psp:
        charge.begin_attempt("stripe", now)
        charge.complete_attempt(PspChargeResult.approved("stripe", f"psp_{charge.charge_id}"), now)


def test_charge_with_discount_and_credit_posts_balanced_revenue() -> None:
    request = ChargeRequest("cus_1", "sf_de", "web", "plan_pro", 999, "EUR", "pm_1", discount_minor=200)
    charge = Charge.create("ch_1", request, "k", "EUR", DE_VAT, 300, MARCH)
    settle(charge, MARCH)
    entry = postings_for_charge(charge, "t1", "je_1", MARCH)
    assert entry.total(Account.PSP_CLEARING) == 699
    assert entry.total(Account.CUSTOMER_CREDIT) == 300
    assert entry.total(Account.GROSS_SALES) == -(839 + 200)
    assert entry.total(Account.TAX_PAYABLE) == -160
    event = revenue_recorded(entry)
    assert (event.net_revenue_minor, event.tax_minor, event.period) == (839, 160, "2025-03")


def test_revenue_report_groups_by_period_storefront_channel_and_plan() -> None:
    entries: list[JournalEntry] = []
    for number, (storefront, plan, when) in enumerate(
        [("sf_de", "pro", MARCH), ("sf_de", "pro", MARCH), ("sf_de", "basic", APRIL), ("sf_at", "pro", APRIL)]
    ):
        request = ChargeRequest("cus_1", storefront, "web", plan, 999, "EUR", "pm_1")
        charge = Charge.create(f"ch_{number}", request, f"k{number}", "EUR", DE_VAT, 0, when)
        settle(charge, when)
        entries.append(postings_for_charge(charge, "t1", f"je_{number}", when))
        if number == 0:
            refund = plan_refund(charge, "re_0", 119, RefundDestination.CUSTOMER_CREDIT, APRIL)
            apply_refund(charge, refund, APRIL)
            entries.append(postings_for_refund(charge, refund, "t1", "je_r", APRIL))
    by_period = revenue_report(entries, "2025-03", "2025-04", [GroupBy.PERIOD])
    assert [(row.period, row.net_revenue_minor, row.refunds_minor) for row in by_period] == [
        ("2025-03", 1678, 0),
        ("2025-04", 1678 - 100, 100),
    ]
    april_by_plan = revenue_report(entries, "2025-04", "2025-04", [GroupBy.STOREFRONT, GroupBy.PLAN])
    assert [(row.storefront_id, row.plan_id, row.gross_sales_minor) for row in april_by_plan] == [
        ("sf_at", "pro", 839),
        ("sf_de", "basic", 839),
        ("sf_de", "pro", 0),
    ]


@dataclass(frozen=True)
class ChargeOp:
    price: int
    currency: str
    discount: int


@dataclass(frozen=True)
class RefundOp:
    charge_index: int
    to_credit: bool
    share: float


@dataclass(frozen=True)
class GoodwillOp:
    amount: int
    currency: str


currencies = st.sampled_from(["EUR", "USD"])
operation = st.one_of(
    st.builds(ChargeOp, st.integers(0, 50_000), currencies, st.integers(0, 3_000)),
    st.builds(RefundOp, st.integers(0, 30), st.booleans(), st.floats(0.01, 1.0)),
    st.builds(GoodwillOp, st.integers(1, 5_000), currencies),
)


@given(st.lists(operation, max_size=40))
def test_every_entry_balances_and_the_books_match_the_domain(
    operations: list[ChargeOp | RefundOp | GoodwillOp],
) -> None:
    entries: list[JournalEntry] = []
    charges: list[Charge] = []
    credit = {currency: CreditBalance("cus_1", currency) for currency in ("EUR", "USD")}
    for number, op in enumerate(operations):
        entry_id = f"je_{number}"
        match op:
            case ChargeOp(price, currency, discount):
                policy = DE_VAT if currency == "EUR" else US_TAX
                request = ChargeRequest(
                    "cus_1", f"sf_{currency}", "web", "pro", price, currency, "pm", discount_minor=discount
                )
                balance = credit[currency].balance_minor
                charge = Charge.create(f"ch_{number}", request, entry_id, currency, policy, balance, MARCH)
                settle(charge, MARCH)
                credit[currency].spend(charge.credit_applied_minor, APRIL)
                charges.append(charge)
                if charge.amounts.gross_minor or discount:
                    entries.append(postings_for_charge(charge, "t1", entry_id, MARCH))
            case RefundOp(index, to_credit, share) if charges:
                charge = charges[index % len(charges)]
                destination = RefundDestination.CUSTOMER_CREDIT if to_credit else RefundDestination.ORIGINAL_METHOD
                remaining = charge.amounts.gross_minor - charge.refunded_minor
                amount = max(1, int(remaining * share))
                to_card_limit = charge.psp_amount_minor - charge.refunded_to_method_minor
                if remaining == 0 or (not to_credit and amount > to_card_limit):
                    continue
                refund = plan_refund(charge, f"re_{number}", amount, destination, APRIL)
                if refund.status is RefundStatus.PENDING:
                    refund.confirm("psp_re")
                apply_refund(charge, refund, APRIL)
                if to_credit:
                    credit[charge.currency].grant(amount, CreditReason.REFUND, APRIL)
                entries.append(postings_for_refund(charge, refund, "t1", entry_id, APRIL))
            case GoodwillOp(amount, currency):
                credit[currency].grant(amount, CreditReason.GOODWILL, APRIL)
                dims = Dimensions(f"sf_{currency}", "web", "", "2025-04")
                entries.append(postings_for_credit_grant("t1", entry_id, "goodwill", currency, amount, dims, APRIL))

    for entry in entries:
        debits = sum(p.amount_minor for p in entry.postings if p.side == "debit")
        credits = sum(p.amount_minor for p in entry.postings if p.side == "credit")
        assert debits == credits > 0
    balances = trial_balance(entries)
    for currency, accounts in balances.items():
        assert sum(accounts.values()) == 0
        assert -accounts.get(Account.CUSTOMER_CREDIT, 0) == credit[currency].balance_minor
        captured = Counter[str]()
        for charge in charges:
            if charge.currency == currency:
                captured["in"] += charge.psp_amount_minor
                captured["out"] += charge.refunded_to_method_minor
        assert accounts.get(Account.PSP_CLEARING, 0) == captured["in"] - captured["out"]
    report = revenue_report(entries, "2025-01", "2025-12", [])
    for row in report:
        accounts = balances[row.currency]
        assert row.tax_minor == -accounts.get(Account.TAX_PAYABLE, 0) >= 0
