"""The invoice and credit note PDF template, rendered with reportlab (implements `ports.InvoiceRenderer`)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency, get_currency_precision
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from azotte_payments.domain.invoices import CreditNote, Invoice, InvoiceProfile

REVERSE_CHARGE_NOTE = "Reverse charge: VAT to be accounted for by the recipient (Art. 196 Directive 2006/112/EC)."
_STYLES = getSampleStyleSheet()
_BODY = _STYLES["BodyText"]
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=8, leading=10)
_TITLE = _STYLES["Title"]
_GRID = TableStyle(
    [
        ("FONTSIZE", (0, 0), (-1, -1), 9),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
        ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.grey),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def money(amount_minor: int, currency: str) -> str:
    """`€1,190.00`: minor units in the currency's major unit."""
    return format_currency(Decimal(amount_minor).scaleb(-get_currency_precision(currency)), currency, locale="en")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br/>")


def _paragraph(text: str, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(_text(text), style)


def _date(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment else ""


def _parties(profile: InvoiceProfile | None, invoice: Invoice) -> Table:
    seller = [profile.seller_name, profile.seller_address, f"Tax id: {profile.seller_tax_id}"] if profile else []
    bill_to = invoice.bill_to
    buyer = [bill_to.name, bill_to.address, bill_to.email, f"Tax id: {bill_to.tax_id}" if bill_to.tax_id else ""]
    cells = [[_paragraph("\n".join(filter(None, seller))), _paragraph("Bill to:\n" + "\n".join(filter(None, buyer)))]]
    return Table(cells, colWidths=[85 * mm, 85 * mm])


def _facts(rows: Sequence[tuple[str, str]]) -> Table:
    table = Table([[label, value] for label, value in rows], colWidths=[45 * mm, 125 * mm], hAlign="LEFT")
    table.setStyle(TableStyle([("FONTSIZE", (0, 0), (-1, -1), 9), ("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]))
    return table


def _lines(invoice: Invoice) -> Table:
    rows: list[list[Any]] = [["Description", "Quantity", "Amount"]]
    for line in invoice.lines:
        detail = " · ".join(filter(None, [line.meter_id, line.dimension]))
        label = f"{line.description}\n{detail}" if detail else line.description
        amount = money(line.signed_minor, invoice.currency)
        rows.append([_paragraph(label, _SMALL), f"{line.quantity.normalize():f}", amount])
    table = Table(rows, colWidths=[110 * mm, 25 * mm, 35 * mm])
    table.setStyle(_GRID)
    return table


def _totals(invoice: Invoice) -> Table:
    totals, currency = invoice.totals, invoice.currency
    rate = f"{(invoice.tax_rate * 100).normalize():f} %"
    rows = [
        ["Charges", money(totals.charges_minor, currency)],
        ["Discounts and credits", money(-totals.reductions_minor, currency)],
        ["Net", money(totals.net_minor, currency)],
        [f"Tax {rate}" + (" (reverse charge)" if invoice.reverse_charge else ""), money(totals.tax_minor, currency)],
        ["Total", money(totals.total_minor, currency)],
    ]
    table = Table(rows, colWidths=[60 * mm, 35 * mm], hAlign="RIGHT")
    table.setStyle(
        TableStyle(
            [
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("ALIGN", (1, 0), (1, -1), "RIGHT"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.grey),
            ]
        )
    )
    return table


def _instructions(invoice: Invoice, profile: InvoiceProfile | None) -> list[Flowable]:
    rows = [("Amount due", money(invoice.totals.total_minor, invoice.currency)), ("Due date", str(invoice.due_on))]
    if profile and profile.iban:
        rows += [("Account holder", profile.bank_account_holder or profile.seller_name), ("IBAN", profile.iban)]
        if profile.bic:
            rows.append(("BIC", profile.bic))
    rows.append(("Reference", invoice.payment_reference))
    note = "Pay by bank transfer and quote the reference exactly, so that your payment is matched to this invoice."
    return [_paragraph("Payment instructions", _STYLES["Heading3"]), _facts(rows), _paragraph(note, _SMALL)]


def _render(story: list[Flowable], title: str) -> bytes:
    buffer = io.BytesIO()
    # NOTE: invariant=1 drops the creation date and random id, so the same document renders the same bytes.
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, invariant=1, leftMargin=20 * mm)
    document.build(story)
    return buffer.getvalue()


class ReportlabInvoiceRenderer:
    """The one invoice template: seller and buyer, facts, lines, totals, tax note and payment instructions."""

    def invoice_pdf(self, invoice: Invoice, profile: InvoiceProfile | None) -> bytes:
        """The issued invoice as PDF."""
        story: list[Flowable] = [
            _paragraph(f"Invoice {invoice.number}", _TITLE),
            _parties(profile, invoice),
            Spacer(1, 6 * mm),
            _facts(
                [
                    ("Invoice number", invoice.number),
                    ("Issue date", _date(invoice.issued_at)),
                    ("Due date", str(invoice.due_on)),
                    ("Customer", invoice.customer_id),
                    *([("Period", invoice.period_key)] if invoice.period_key else []),
                ]
            ),
            Spacer(1, 6 * mm),
            _lines(invoice),
            Spacer(1, 4 * mm),
            _totals(invoice),
        ]
        if invoice.reverse_charge:
            story.append(_paragraph(REVERSE_CHARGE_NOTE, _SMALL))
        if invoice.memo:
            story.append(_paragraph(invoice.memo, _SMALL))
        story += [Spacer(1, 6 * mm), *_instructions(invoice, profile)]
        return _render(story, f"Invoice {invoice.number}")

    def credit_note_pdf(self, note: CreditNote, invoice: Invoice, profile: InvoiceProfile | None) -> bytes:
        """The credit note as PDF, naming the invoice it corrects."""
        rows = [
            ("Credit note number", note.number),
            ("Issue date", _date(note.issued_at)),
            ("Corrects invoice", note.invoice_number),
            ("Reason", note.reason),
            ("Net", money(note.net_minor, note.currency)),
            ("Tax", money(note.tax_minor, note.currency)),
            ("Total credited", money(note.amount_minor, note.currency)),
            ("Off the amount due", money(note.to_balance_minor, note.currency)),
            ("Credited to your account", money(note.refund_minor, note.currency)),
        ]
        story: list[Flowable] = [
            _paragraph(f"Credit note {note.number}", _TITLE),
            _parties(profile, invoice),
            Spacer(1, 6 * mm),
            _facts(rows),
        ]
        if invoice.reverse_charge:
            story.append(_paragraph(REVERSE_CHARGE_NOTE, _SMALL))
        return _render(story, f"Credit note {note.number}")
