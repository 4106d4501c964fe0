"""Invoices through the gateway: a manager issues one, its PDF downloads, invoice.issued and invoice.paid reach the
tenant's webhook, an operator imports the bank statement that pays it, and each role keeps to its rights."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.e2e.conftest import RunningSuite, TenantApi
from tests.e2e.test_gateway_e2e_webhooks import Delivery, Receiver, arrived, endpoint, listening


@pytest.fixture(scope="module")
async def invoice_receiver() -> AsyncIterator[Receiver]:
    async with listening() as receiving:
        yield receiving


def rid() -> str:
    return uuid.uuid4().hex


def invoice_body(customer: str) -> dict[str, object]:
    return {
        "request_id": rid(),
        "customer_id": customer,
        "storefront_id": "de",
        "issue": True,
        "due_in_days": 30,
        "bill_to": {"name": "Hotel am See GmbH", "address": "Seestr. 1, München", "tax_id": "DE123456789"},
        "lines": [
            {"kind": "RECURRING", "description": "40 rooms, April", "amount": {"amount_minor": 100_000}},
            {"kind": "USAGE", "description": "Pay-per-view", "meter_id": "ppv", "amount": {"amount_minor": 19_000}},
        ],
    }


async def test_an_invoice_is_issued_downloaded_paid_by_statement_and_announced(
    suite: RunningSuite, invoice_receiver: Receiver
) -> None:
    tenant: TenantApi = await suite.new_tenant()
    await endpoint(tenant, invoice_receiver, f"/{tenant.tenant_id}", ["invoice.*"])
    manager, operator, viewer = [await tenant.new_key(role) for role in ("manager", "operator", "viewer")]
    customer = await tenant.customer("DE")

    refused = await tenant.call("POST", "/v1/invoices", json=invoice_body(customer), key=operator)
    assert refused.status_code == 403, refused.text
    created = await tenant.call("POST", "/v1/invoices", json=invoice_body(customer), key=manager)
    assert created.status_code == 200, created.text
    invoice = created.json()["invoice"]
    # Storefront de: 19 % VAT included; a German tax id is domestic, so no reverse charge.
    assert invoice["number"] == "INV-DE-000001" and invoice["status"] == "INVOICE_STATUS_OPEN"
    assert (invoice["total"]["amount_minor"], invoice["tax"]["amount_minor"]) == ("119000", "19000")

    pdf = await tenant.call("GET", f"/v1/invoices/{invoice['id']}/pdf", key=viewer)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and "INV-DE-000001.pdf" in pdf.headers["content-disposition"]

    statement = (
        "date,amount,currency,remittance,payer,transaction_id\n"
        f"2026-04-02,1190.00,EUR,{invoice['payment_reference']},Hotel am See GmbH,TX-1\n"
        "2026-04-02,10.00,EUR,unknown,Somebody,TX-2\n"
    ).encode()
    form = {"request_id": rid(), "format": "CSV"}
    files = {"file": ("april.csv", statement, "text/csv")}
    denied = await tenant.call("POST", "/v1/bank-statements", data=form, files=files, key=viewer)
    assert denied.status_code == 403, denied.text
    imported = await tenant.call("POST", "/v1/bank-statements", data=form, files=files, key=operator)
    assert imported.status_code == 200, imported.text
    assert (imported.json()["statement"]["matched"], imported.json()["statement"]["unmatched"]) == (1, 1)
    again = await tenant.call(
        "POST", "/v1/bank-statements", data={**form, "request_id": rid()}, files=files, key=operator
    )
    assert again.status_code == 200 and again.json().get("payments", []) == []

    paid = await tenant.ok("GET", f"/v1/invoices/{invoice['id']}")
    assert paid["invoice"]["status"] == "INVOICE_STATUS_PAID"
    queue = await tenant.ok("GET", "/v1/bank-payments", params={"status": "UNMATCHED"})
    assert [p["bank_reference"] for p in queue["payments"]] == ["TX-2"]

    def issued_and_paid(at: list[Delivery]) -> bool:
        return {d.event["type"] for d in at} >= {"invoice.issued", "invoice.paid"}

    delivered = await arrived(invoice_receiver, f"/{tenant.tenant_id}", issued_and_paid)
    assert all(d.verified for d in delivered)
    issued = next(d.event for d in delivered if d.event["type"] == "invoice.issued")
    assert issued["data"]["invoice"]["number"] == "INV-DE-000001"

    # Only admins void; a paid invoice is corrected by a credit note, never edited.
    voided = await tenant.call("POST", f"/v1/invoices/{invoice['id']}:void", json={"request_id": rid()}, key=manager)
    assert voided.status_code == 403
    refused_void = await tenant.call("POST", f"/v1/invoices/{invoice['id']}:void", json={"request_id": rid()})
    assert refused_void.status_code == 409, refused_void.text
    credit = {"request_id": rid(), "amount": {"currency_code": "EUR", "amount_minor": 11_900}, "reason": "dispute"}
    noted = await tenant.call("POST", f"/v1/invoices/{invoice['id']}/credit-notes", json=credit, key=manager)
    assert noted.status_code == 200, noted.text
    assert noted.json()["credit_note"]["number"] == "CN-DE-000001"

    other = await suite.new_tenant(with_catalog=False)
    missing = await other.call("GET", f"/v1/invoices/{invoice['id']}")
    assert missing.status_code == 404
