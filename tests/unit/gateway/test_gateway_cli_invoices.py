"""`azotte invoices` and `azotte bank`: each command is one REST call; a PDF is written as the bytes received."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from azotte_gateway.cli import commands
from azotte_gateway.cli.client import GatewayClient

EUR = {"currency_code": "EUR", "amount_minor": "119000"}
INVOICE = {
    "id": "in_1", "number": "INV-DE-000001", "customer_id": "c1", "status": "INVOICE_STATUS_OPEN", "total": EUR,
    "balance": EUR, "net": EUR, "tax": EUR, "tax_rate": "0.19", "due_date": "2026-04-14", "payment_reference": "RF18X",
    "lines": [{"kind": "INVOICE_LINE_KIND_RECURRING", "description": "Plan", "amount": EUR}],
}  # fmt: skip
PAYMENT = {"id": "bp_1", "status": "BANK_PAYMENT_STATUS_UNMATCHED", "amount": EUR, "unmatched_reason": "no_reference"}
STATEMENT = {"statement": {"entries": 2, "matched": 1, "unmatched": 1}, "payments": [PAYMENT]}
PDF = b"%PDF-1.4 fake"
ANSWERS = {
    ("GET", "/v1/invoices"): {"invoices": [INVOICE]},
    ("GET", "/v1/invoices/in_1"): {"invoice": INVOICE, "credit_notes": []},
    ("POST", "/v1/invoices/in_1/payments"): {"payment": PAYMENT, "invoice": INVOICE},
    ("POST", "/v1/invoices/in_1/credit-notes"): {
        "credit_note": {"id": "cn_1", "number": "CN-DE-000001", "amount": EUR},
        "invoice": INVOICE,
    },
    ("POST", "/v1/invoices/in_1:void"): {"invoice": INVOICE},
    ("POST", "/v1/bank-statements"): STATEMENT,
    ("GET", "/v1/bank-payments"): {"payments": [PAYMENT]},
    ("POST", "/v1/bank-payments/bp_1:assign"): {"payment": PAYMENT, "invoice": INVOICE},
}


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[httpx.Request]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path.endswith("/pdf"):
            return httpx.Response(200, content=PDF, headers={"content-type": "application/pdf"})
        return httpx.Response(200, json=ANSWERS[(request.method, request.url.path)])

    gateway = GatewayClient("http://gateway", "azk_sandbox_x_y", transport=httpx.MockTransport(answer))
    monkeypatch.setattr(commands, "client", lambda: gateway)
    return requests


@pytest.mark.parametrize(
    ("args", "method", "path", "printed"),
    [
        (["invoices", "list", "--status", "open"], "GET", "/v1/invoices", "OPEN"),
        (["invoices", "get", "in_1"], "GET", "/v1/invoices/in_1", "rate 0.19"),
        (["invoices", "pay", "in_1", "119000"], "POST", "/v1/invoices/in_1/payments", "bp_1"),
        (
            ["invoices", "credit-note", "in_1", "119000", "--reason", "dispute"],
            "POST",
            "/v1/invoices/in_1/credit-notes",
            "CN-DE-000001",
        ),
        (["invoices", "void", "in_1"], "POST", "/v1/invoices/in_1:void", "OPEN"),
        (["bank", "queue"], "GET", "/v1/bank-payments", "no_reference"),
        (["bank", "assign", "bp_1", "in_1"], "POST", "/v1/bank-payments/bp_1:assign", "bp_1"),
    ],
)
def test_each_command_is_one_call(
    sent: list[httpx.Request], args: list[str], method: str, path: str, printed: str
) -> None:
    result = CliRunner().invoke(commands.app, args)
    assert result.exit_code == 0, result.output
    assert [(r.method, r.url.path) for r in sent] == [(method, path)]
    assert printed in result.output


def test_a_pdf_is_written_byte_for_byte(sent: list[httpx.Request], tmp_path: Path) -> None:
    target = tmp_path / "invoice.pdf"
    result = CliRunner().invoke(commands.app, ["invoices", "pdf", "in_1", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == PDF and sent[0].url.path == "/v1/invoices/in_1/pdf"


def test_a_statement_is_uploaded_as_a_file_with_a_request_id(sent: list[httpx.Request], tmp_path: Path) -> None:
    statement = tmp_path / "april.csv"
    statement.write_bytes(b"date,amount,currency,remittance\n")
    result = CliRunner().invoke(commands.app, ["bank", "import", str(statement), "--format", "csv"])
    assert result.exit_code == 0, result.output
    body = sent[0].content
    assert b'name="format"\r\n\r\nCSV' in body and b'filename="april.csv"' in body and b'name="request_id"' in body
    assert "1 matched, 1 queued" in result.output
