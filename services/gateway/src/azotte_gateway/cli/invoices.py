"""`azotte invoices …` and `azotte bank …`: invoices, credit notes, PDFs, bank transfers and statement imports."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer
from rich.table import Table

from azotte_gateway.cli.client import new_request_id

app = typer.Typer(help="Invoices paid by bank transfer, and their credit notes.", no_args_is_help=True)
bank = typer.Typer(help="Bank transfers received: statement imports and the unmatched queue.", no_args_is_help=True)


def _cli() -> ModuleType:
    # NOTE: imported when a command runs: `commands` registers this module's sub-apps.
    from azotte_gateway.cli import commands

    return commands


def _call(method: str, path: str, **kwargs: Any) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().call(method, path, **kwargs)


def _post(path: str, body: dict[str, Any]) -> Any:
    cli = _cli()
    with cli.handled():
        return cli.client().post(path, body)


def _money(money: dict[str, Any]) -> str:
    return f"{int(money.get('amount_minor', 0)) / 100:,.2f} {money.get('currency_code', '')}"


def invoices_table(invoices: list[dict[str, Any]]) -> Table:
    table = Table("id", "number", "customer", "status", "total", "balance", "due", "reference", title="Invoices")
    for invoice in invoices:
        table.add_row(
            invoice["id"],
            invoice.get("number", ""),
            invoice.get("customer_id", ""),
            str(invoice.get("status", "")).removeprefix("INVOICE_STATUS_"),
            _money(invoice.get("total", {})),
            _money(invoice.get("balance", {})),
            invoice.get("due_date", ""),
            invoice.get("payment_reference", ""),
        )
    return table


def payments_table(payments: list[dict[str, Any]]) -> Table:
    table = Table("id", "status", "amount", "booked", "payer", "invoice", "why unmatched", title="Bank payments")
    for payment in payments:
        table.add_row(
            payment["id"],
            str(payment.get("status", "")).removeprefix("BANK_PAYMENT_STATUS_"),
            _money(payment.get("amount", {})),
            payment.get("booked_on", ""),
            payment.get("payer", ""),
            payment.get("invoice_id", ""),
            payment.get("unmatched_reason", ""),
        )
    return table


@app.command("list")
def list_invoices(
    customer: Annotated[str, typer.Option("--customer", help="Only this customer's.")] = "",
    status: Annotated[list[str] | None, typer.Option("--status", help="OPEN, OVERDUE, PAID, … (repeatable).")] = None,
) -> None:
    """Invoices, newest first."""
    params: dict[str, Any] = {"customer_id": customer, "status": [value.upper() for value in status or []]}
    _cli().console.print(invoices_table(_call("GET", "/v1/invoices", params=params)["invoices"]))


@app.command("get")
def get(invoice_id: str) -> None:
    """One invoice, its lines and credit notes."""
    answer = _call("GET", f"/v1/invoices/{invoice_id}")
    invoice = answer["invoice"]
    console = _cli().console
    console.print(invoices_table([invoice]))
    for line in invoice.get("lines", []):
        console.print(f"  {str(line['kind']).removeprefix('INVOICE_LINE_KIND_'):10} {line['description']}: "
                      f"{_money(line.get('amount', {}))}")  # fmt: skip
    console.print(f"  net {_money(invoice['net'])}, tax {_money(invoice['tax'])} (rate {invoice['tax_rate']})")
    for note in answer.get("credit_notes", []):
        console.print(f"  credit note {note['number']}: {_money(note['amount'])} ({note['reason']})")


@app.command("pdf")
def pdf(
    document_id: Annotated[str, typer.Argument(help="An invoice id, or a credit note id with --credit-note.")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where to write it.")] = None,
    credit_note: Annotated[bool, typer.Option("--credit-note", help="The id is a credit note's.")] = False,
) -> None:
    """Download an issued invoice (or a credit note) as PDF."""
    path = f"/v1/credit-notes/{document_id}/pdf" if credit_note else f"/v1/invoices/{document_id}/pdf"
    cli = _cli()
    with cli.handled():
        content = cli.client().download(path)
    target = output or Path(f"{document_id}.pdf")
    target.write_bytes(content)
    cli.console.print(f"wrote {target} ({len(content)} bytes)")


@app.command("void")
def void(invoice_id: str, reason: Annotated[str, typer.Option("--reason")] = "") -> None:
    """Void an issued invoice nothing was paid on (admins)."""
    _cli().console.print(invoices_table([_post(f"/v1/invoices/{invoice_id}:void", {"reason": reason})["invoice"]]))


@app.command("write-off")
def write_off(invoice_id: str, reason: Annotated[str, typer.Option("--reason")] = "") -> None:
    """Write an invoice off as uncollectible (admins)."""
    answer = _post(f"/v1/invoices/{invoice_id}:mark-uncollectible", {"reason": reason})
    _cli().console.print(invoices_table([answer["invoice"]]))


@app.command("credit-note")
def credit_note(
    invoice_id: str,
    amount_minor: Annotated[int, typer.Argument(help="Tax included, in minor units.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (required).")],
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
) -> None:
    """Issue a credit note: it lowers what is owed; the rest becomes the customer's credit."""
    body = {"amount": {"currency_code": currency, "amount_minor": amount_minor}, "reason": reason}
    answer = _post(f"/v1/invoices/{invoice_id}/credit-notes", body)
    note = answer["credit_note"]
    _cli().console.print(f"credit note {note['number']} ({note['id']}): {_money(note['amount'])}")
    _cli().console.print(invoices_table([answer["invoice"]]))


@app.command("pay")
def pay(
    invoice_id: str,
    amount_minor: Annotated[int, typer.Argument(help="In minor units.")],
    currency: Annotated[str, typer.Option("--currency")] = "EUR",
    bank_reference: Annotated[str, typer.Option("--bank-reference", help="The bank's id: recorded once.")] = "",
    received_on: Annotated[str, typer.Option("--received-on", help="YYYY-MM-DD; default today.")] = "",
) -> None:
    """Record a bank transfer received for an invoice (operators)."""
    body = {
        "amount": {"currency_code": currency, "amount_minor": amount_minor},
        "bank_reference": bank_reference,
        "received_on": received_on,
    }
    answer = _post(f"/v1/invoices/{invoice_id}/payments", body)
    _cli().console.print(payments_table([answer["payment"]]))
    _cli().console.print(invoices_table([answer["invoice"]]))


@bank.command("import")
def import_statement(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The statement file.")],
    statement_format: Annotated[str, typer.Option("--format", help="CSV or CAMT053.")] = "CAMT053",
) -> None:
    """Import a bank statement: each incoming transfer is recorded once and matched to its invoice."""
    form = {"request_id": new_request_id(), "format": statement_format.upper()}
    files = {"file": (file.name, file.read_bytes())}
    answer = _call("POST", "/v1/bank-statements", data=form, files=files)
    statement = answer["statement"]
    _cli().console.print(
        f"{statement.get('entries', 0)} transfer(s): {statement.get('matched', 0)} matched, "
        f"{statement.get('unmatched', 0)} queued, {statement.get('duplicates', 0)} already recorded"
    )
    if answer.get("payments"):
        _cli().console.print(payments_table(answer["payments"]))


@bank.command("queue")
def queue() -> None:
    """Transfers no invoice matched, waiting for an operator."""
    answer = _call("GET", "/v1/bank-payments", params={"status": "UNMATCHED"})
    _cli().console.print(payments_table(answer["payments"]))


@bank.command("assign")
def assign(payment_id: str, invoice_id: str) -> None:
    """Assign a queued transfer to an invoice."""
    answer = _post(f"/v1/bank-payments/{payment_id}:assign", {"invoice_id": invoice_id})
    _cli().console.print(payments_table([answer["payment"]]))
    _cli().console.print(invoices_table([answer["invoice"]]))
