"""Money received by bank transfer: statement files (CSV, ISO 20022 camt.053), payments and how they match invoices.

A statement's credit entries become `BankPayment`s. Each is matched to an invoice by the creditor reference
(RF…) in its remittance text, then by amount against the invoice's balance: the exact balance pays it, less
pays part of it, more pays it and the excess becomes the customer's credit. Anything else waits, unmatched,
for an operator to assign it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from xml.etree.ElementTree import Element

from babel.numbers import get_currency_precision, is_currency
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from azotte_payments.domain.invoices import MAX_MINOR, PAYABLE, Invoice, normalize_reference
from azotte_platform.errors import InvalidArgument

MAX_STATEMENT_BYTES = 2 * 1024 * 1024
MAX_ENTRIES = 10_000
_RF = re.compile(r"R ?F ?\d ?\d(?: ?[0-9A-Z]){1,21}", re.IGNORECASE)


class StatementFormat(StrEnum):
    """The file formats a statement is imported from."""

    CSV = "csv"
    CAMT053 = "camt053"


class PaymentSource(StrEnum):
    """How a payment reached Azotte."""

    MANUAL = "manual"
    CSV = "csv"
    CAMT053 = "camt053"


class BankPaymentStatus(StrEnum):
    """Matched to an invoice, or queued for an operator."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"


class Unmatched(StrEnum):
    """Why a payment waits for an operator."""

    NO_REFERENCE = "no_reference"
    UNKNOWN_REFERENCE = "unknown_reference"
    CURRENCY_MISMATCH = "currency_mismatch"
    INVOICE_NOT_PAYABLE = "invoice_not_payable"


@dataclass(frozen=True)
class StatementEntry:
    """One incoming transfer as the bank booked it."""

    dedupe_key: str
    bank_reference: str
    booked_on: date
    amount_minor: int
    currency: str
    payer: str
    remittance: str

    @property
    def reference(self) -> str | None:
        """The first valid creditor reference in the remittance text (the longest one where text follows it)."""
        for found in _RF.findall(self.remittance):
            compact = "".join(found.split())
            # NOTE: words after the reference may run into it ("RF18 5390 0754 7034 ACME"): the longest
            # prefix whose check digits hold is the reference.
            for end in range(len(compact), 4, -1):
                reference = normalize_reference(compact[:end])
                if reference:
                    return reference
        return None


@dataclass(frozen=True)
class BankPayment:
    """A transfer received, where it went: an invoice (applied, and any excess to credit) or the queue."""

    payment_id: str
    entry: StatementEntry
    source: PaymentSource
    import_id: str
    status: BankPaymentStatus
    recorded_at: datetime
    invoice_id: str = ""
    customer_id: str = ""
    applied_minor: int = 0
    excess_minor: int = 0
    unmatched_reason: Unmatched | None = None
    note: str = ""

    def matched(self, invoice: Invoice, applied_minor: int, excess_minor: int) -> BankPayment:
        return replace(
            self,
            status=BankPaymentStatus.MATCHED,
            invoice_id=invoice.invoice_id,
            customer_id=invoice.customer_id,
            applied_minor=applied_minor,
            excess_minor=excess_minor,
            unmatched_reason=None,
        )


@dataclass(frozen=True)
class StatementImport:
    """One statement file imported once (by its SHA-256), with what became of its entries."""

    import_id: str
    digest: str
    statement_format: StatementFormat
    file_name: str
    imported_at: datetime
    entries: int
    matched: int
    unmatched: int
    duplicates: int


def why_unmatched(entry: StatementEntry, invoice: Invoice | None) -> Unmatched | None:
    """None when `entry` can pay `invoice`; otherwise why it goes to the queue."""
    if entry.reference is None:
        return Unmatched.NO_REFERENCE
    if invoice is None:
        return Unmatched.UNKNOWN_REFERENCE
    if invoice.currency != entry.currency:
        return Unmatched.CURRENCY_MISMATCH
    if invoice.status not in PAYABLE:
        return Unmatched.INVOICE_NOT_PAYABLE
    return None


def file_digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def to_minor(amount: Decimal, currency: str, where: str) -> int:
    """A decimal amount of `currency` in whole minor units (INVALID_ARGUMENT naming `where` otherwise)."""
    if not is_currency(currency):
        raise InvalidArgument.field("content", f"{where}: {currency[:8]!r} is not an ISO 4217 currency")
    minor = amount.scaleb(get_currency_precision(currency))
    if minor != minor.to_integral_value() or not 0 < minor <= MAX_MINOR:
        raise InvalidArgument.field("content", f"{where}: amount {amount} is not a valid {currency} amount")
    return int(minor)


def _decimal(text: str, where: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidArgument.field("content", f"{where}: {text[:40]!r} is not a decimal amount") from None
    if not value.is_finite():
        raise InvalidArgument.field("content", f"{where}: {text[:40]!r} is not a decimal amount")
    return value


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidArgument.field("content", f"{where}: {text[:40]!r} is not a date (YYYY-MM-DD)") from None


def _content_key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def parse_statement(content: bytes, statement_format: StatementFormat) -> list[StatementEntry]:
    """The incoming transfers of a statement file (debits are skipped); INVALID_ARGUMENT on `content` otherwise."""
    if not content:
        raise InvalidArgument.field("content", "is empty")
    if len(content) > MAX_STATEMENT_BYTES:
        raise InvalidArgument.field("content", f"must be at most {MAX_STATEMENT_BYTES} bytes")
    entries = list(_csv_entries(content) if statement_format is StatementFormat.CSV else _camt053_entries(content))
    if len(entries) > MAX_ENTRIES:
        raise InvalidArgument.field("content", f"holds more than {MAX_ENTRIES} entries")
    return _unique_keys(entries)


def _unique_keys(entries: list[StatementEntry]) -> list[StatementEntry]:
    # NOTE: identical lines without a bank id are distinct transfers: the n-th copy gets key#n, so that
    # importing the same lines again (in an overlapping statement) records each transfer once.
    seen: Counter[str] = Counter()
    unique = []
    for entry in entries:
        seen[entry.dedupe_key] += 1
        count = seen[entry.dedupe_key]
        unique.append(entry if count == 1 else replace(entry, dedupe_key=f"{entry.dedupe_key}#{count}"))
    return unique


CSV_COLUMNS = ("date", "amount", "currency", "remittance")
"""Required CSV header columns; `payer` and `transaction_id` are optional."""


def _csv_entries(content: bytes) -> Iterator[StatementEntry]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidArgument.field("content", "is not UTF-8 text") from None
    if "\x00" in text:
        raise InvalidArgument.field("content", "holds a NUL character")
    reader = csv.DictReader(io.StringIO(text))
    header = {name.strip().lower() for name in reader.fieldnames or ()}
    missing = [column for column in CSV_COLUMNS if column not in header]
    if missing:
        raise InvalidArgument.field("content", f"the CSV header lacks {', '.join(missing)}")
    try:
        for number, raw in enumerate(reader, start=2):
            row = {(key or "").strip().lower(): (value or "").strip() for key, value in raw.items() if key}
            where = f"line {number}"
            amount = _decimal(row["amount"], where)
            if amount <= 0:
                continue  # NOTE: outgoing transfers and zero lines are not payments received.
            currency = row["currency"].upper()
            booked_on = _date(row["date"], where)
            bank_id = row.get("transaction_id", "")
            key = bank_id or _content_key(row["date"], row["amount"], currency, row["remittance"], row.get("payer", ""))
            yield StatementEntry(
                key, bank_id, booked_on, to_minor(amount, currency, where), currency, row.get("payer", ""),
                row["remittance"],
            )  # fmt: skip
    except csv.Error as error:
        raise InvalidArgument.field("content", f"is not valid CSV: {error}") from None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element | None, *path: str) -> Element | None:
    for name in path:
        if element is None:
            return None
        element = next((child for child in element if _local(child.tag) == name), None)
    return element


def _text(element: Element | None, *path: str) -> str:
    found = _child(element, *path)
    return (found.text or "").strip() if found is not None else ""


def _first(*elements: Element | None) -> Element | None:
    # NOTE: an Element without children is falsy, so `a or b` would skip a found leaf.
    return next((element for element in elements if element is not None), None)


def _all(element: Element, name: str) -> Iterator[Element]:
    return (found for found in element.iter() if _local(found.tag) == name)


def _camt053_entries(content: bytes) -> Iterator[StatementEntry]:
    try:
        root = ElementTree.fromstring(content, forbid_dtd=True)
    except (ElementTree.ParseError, DefusedXmlException, ValueError) as error:
        raise InvalidArgument.field("content", f"is not a camt.053 XML document: {error}") from None
    if _child(root, "BkToCstmrStmt") is None:
        raise InvalidArgument.field("content", "is not a camt.053 document (no BkToCstmrStmt)")
    for index, entry in enumerate(_all(root, "Ntry"), start=1):
        if _text(entry, "CdtDbtInd") != "CRDT" or _text(entry, "RvslInd").lower() == "true":
            continue  # NOTE: debits and reversals are not payments received.
        where = f"entry {index}"
        booked = _text(entry, "BookgDt", "Dt") or _text(entry, "BookgDt", "DtTm") or _text(entry, "ValDt", "Dt")
        booked_on = _date(booked, where)
        entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
        details = list(_all(entry, "TxDtls")) or [entry]
        for part, tx in enumerate(details, start=1):
            amount_element = _first(_child(tx, "Amt"), _child(tx, "AmtDtls", "TxAmt", "Amt"), _child(entry, "Amt"))
            if amount_element is None:
                raise InvalidArgument.field("content", f"{where}: has no Amt")
            currency = amount_element.get("Ccy", "").upper()
            amount = _decimal(amount_element.text or "", where)
            remittance = " ".join(filter(None, [_text(tx, "RmtInf", "Strd", "CdtrRefInf", "Ref"), *_unstructured(tx)]))
            payer = _text(tx, "RltdPties", "Dbtr", "Nm") or _text(tx, "RltdPties", "Dbtr", "Pty", "Nm")
            tx_ref = _text(tx, "Refs", "AcctSvcrRef") or _text(tx, "Refs", "EndToEndId")
            bank_reference = tx_ref if tx_ref and tx_ref != "NOTPROVIDED" else entry_ref
            if bank_reference and len(details) > 1 and bank_reference == entry_ref:
                bank_reference = f"{entry_ref}/{part}"
            key = bank_reference or _content_key(booked, str(amount), currency, remittance, payer)
            yield StatementEntry(
                key, bank_reference, booked_on, to_minor(amount, currency, where), currency, payer, remittance
            )


def _unstructured(tx: Element) -> list[str]:
    info = _child(tx, "RmtInf")
    return [] if info is None else [(line.text or "").strip() for line in info if _local(line.tag) == "Ustrd"]
