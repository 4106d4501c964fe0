"""InvoicesService at the gateway: each role gets exactly its invoice permissions (viewers read, operators record
payments, managers invoice, admins void and write off), another tenant's customer is NOT_FOUND, changes need ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from azotte.common.v1.money_pb2 import Money
from azotte.gateway.v1 import invoices_pb2 as gi
from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte.payments.v1 import invoices_pb2 as pi
from azotte_gateway.domain.permissions import Role
from azotte_gateway.errors import RolePermissionMissing
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.invoices import Invoices
from azotte_platform.errors import InvalidArgument, NotFound
from tests.unit.gateway.fakes import TENANT, caller

EUR = Money(currency_code="EUR", amount_minor=11_900)


@dataclass
class Lifecycle:
    """Knows cus_1 only (another tenant's customer is unknown here)."""

    async def GetCustomer(self, request: lc.GetCustomerRequest) -> lc.GetCustomerResponse:
        if request.customer_id != "cus_1":
            raise NotFound(f"customer {request.customer_id} not found")
        return lc.GetCustomerResponse()


@dataclass
class PaymentsInvoices:
    """Payments' InvoicesService: records each call and answers an empty response."""

    calls: list[str] = field(default_factory=list)

    def __getattr__(self, name: str) -> Callable[[Any], Awaitable[Any]]:
        async def call(request: Any) -> Any:
            self.calls.append(name)
            return getattr(pi, type(request).DESCRIPTOR.name.removesuffix("Request") + "Response")()

        return call


@dataclass
class StubPeers:
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    invoices: PaymentsInvoices = field(default_factory=PaymentsInvoices)


def area() -> tuple[Invoices, PaymentsInvoices]:
    peers = StubPeers()
    typed = cast(Peers, peers)
    return Invoices(typed, KnownCustomers(typed, max_customers=10)), peers.invoices


LINE = pi.InvoiceLine(kind=pi.INVOICE_LINE_KIND_RECURRING, description="Plan", amount=EUR)
CALLS: dict[str, tuple[str, Any]] = {
    "get": ("get_invoice", gi.GetInvoiceRequest(invoice_id="in_1")),
    "list": ("list_invoices", gi.ListInvoicesRequest(customer_id="cus_1")),
    "pdf": ("get_invoice_pdf", gi.GetInvoicePdfRequest(document_id="in_1")),
    "payments": ("list_bank_payments", gi.ListBankPaymentsRequest()),
    "profile": ("get_invoice_profile", gi.GetInvoiceProfileRequest(storefront_id="de")),
    "record": (
        "record_invoice_payment",
        gi.RecordInvoicePaymentRequest(request_id="r1", invoice_id="in_1", amount=EUR),
    ),
    "import": ("import_bank_statement", gi.ImportBankStatementRequest(request_id="r2", content=b"x")),
    "assign": ("assign_bank_payment", gi.AssignBankPaymentRequest(request_id="r3", payment_id="bp", invoice_id="in")),
    "create": (
        "create_invoice",
        gi.CreateInvoiceRequest(request_id="r4", customer_id="cus_1", storefront_id="de", lines=[LINE], issue=True),
    ),
    "issue": ("issue_invoice", gi.IssueInvoiceRequest(request_id="r5", invoice_id="in_1")),
    "credit": ("create_credit_note", gi.CreateCreditNoteRequest(request_id="r6", invoice_id="in_1", reason="dispute")),
    "set_profile": ("set_invoice_profile", gi.SetInvoiceProfileRequest(request_id="r7")),
    "void": ("void_invoice", gi.VoidInvoiceRequest(request_id="r8", invoice_id="in_1")),
    "write_off": ("mark_invoice_uncollectible", gi.MarkInvoiceUncollectibleRequest(request_id="r9", invoice_id="in_1")),
}
READS = {"get", "list", "pdf", "payments", "profile"}
RECORDING = READS | {"record", "import", "assign"}
INVOICING = RECORDING | {"create", "issue", "credit", "set_profile"}
ALLOWED = {
    Role.PUBLISHABLE: set(),
    Role.VIEWER: READS,
    Role.OPERATOR: RECORDING,
    Role.MANAGER: INVOICING,
    Role.ADMIN: set(CALLS),
}


@pytest.mark.parametrize("role", list(ALLOWED))
@pytest.mark.parametrize("call", list(CALLS))
async def test_each_role_gets_exactly_its_invoice_permissions(role: Role, call: str) -> None:
    invoices, payments = area()
    method, request = CALLS[call]
    who = caller(role)
    with who.scope():
        if call in ALLOWED[role]:
            await getattr(invoices, method)(who, request)
            assert len(payments.calls) == 1
        else:
            with pytest.raises(RolePermissionMissing):
                await getattr(invoices, method)(who, request)
            assert payments.calls == []


async def test_another_tenants_customer_is_not_found_and_payments_is_not_asked() -> None:
    invoices, payments = area()
    who = caller(Role.ADMIN, TENANT)
    request = gi.CreateInvoiceRequest(request_id="r", customer_id="cus_of_another_tenant", storefront_id="de")
    with who.scope(), pytest.raises(NotFound):
        await invoices.create_invoice(who, request)
    with who.scope(), pytest.raises(NotFound):
        await invoices.list_invoices(who, gi.ListInvoicesRequest(customer_id="cus_of_another_tenant"))
    assert payments.calls == []


async def test_a_change_without_its_request_id_names_it() -> None:
    invoices, payments = area()
    who = caller(Role.OPERATOR)
    with who.scope(), pytest.raises(InvalidArgument) as raised:
        await invoices.record_invoice_payment(who, gi.RecordInvoicePaymentRequest(invoice_id="in_1", amount=EUR))
    assert raised.value.violations[0].field == "request_id"
    assert payments.calls == []
