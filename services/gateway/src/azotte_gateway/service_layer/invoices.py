"""InvoicesService: invoices, credit notes, bank transfers and statement imports (payments does the work)."""

from __future__ import annotations

from dataclasses import dataclass

from azotte.gateway.v1 import invoices_pb2 as gi
from azotte.payments.v1 import invoices_pb2 as pi
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.customers import KnownCustomers
from azotte_gateway.service_layer.validation import require, require_mutation


@dataclass(frozen=True)
class Invoices:
    """Each method is one InvoicesService RPC: authorize, validate, call payments' InvoicesService, answer."""

    peers: Peers
    customers: KnownCustomers

    async def create_invoice(self, caller: Caller, request: gi.CreateInvoiceRequest) -> gi.CreateInvoiceResponse:
        authorize(caller.principal, Permission.MANAGE_INVOICES)
        require_mutation(request, "customer_id", "storefront_id")
        # NOTE: another tenant's (or an unknown) customer answers NOT_FOUND, like a missing one.
        await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.invoices.CreateInvoice(
            pi.CreateInvoiceRequest(
                request_id=request.request_id,
                customer_id=request.customer_id,
                storefront_id=request.storefront_id,
                lines=request.lines,
                bill_to=request.bill_to,
                due_in_days=request.due_in_days,
                subscription_id=request.subscription_id,
                memo=request.memo,
                issue=request.issue,
                reminder_days=request.reminder_days,
            )
        )
        return gi.CreateInvoiceResponse(invoice=answer.invoice)

    async def issue_invoice(self, caller: Caller, request: gi.IssueInvoiceRequest) -> gi.IssueInvoiceResponse:
        authorize(caller.principal, Permission.MANAGE_INVOICES)
        require_mutation(request, "invoice_id")
        answer = await self.peers.invoices.IssueInvoice(
            pi.IssueInvoiceRequest(request_id=request.request_id, invoice_id=request.invoice_id)
        )
        return gi.IssueInvoiceResponse(invoice=answer.invoice)

    async def get_invoice(self, caller: Caller, request: gi.GetInvoiceRequest) -> gi.GetInvoiceResponse:
        authorize(caller.principal, Permission.READ_INVOICES)
        require(request, "invoice_id")
        answer = await self.peers.invoices.GetInvoice(pi.GetInvoiceRequest(invoice_id=request.invoice_id))
        return gi.GetInvoiceResponse(invoice=answer.invoice, credit_notes=answer.credit_notes)

    async def list_invoices(self, caller: Caller, request: gi.ListInvoicesRequest) -> gi.ListInvoicesResponse:
        authorize(caller.principal, Permission.READ_INVOICES)
        if request.customer_id:
            await self.customers.require(caller.principal.tenant_id, request.customer_id)
        answer = await self.peers.invoices.ListInvoices(
            pi.ListInvoicesRequest(
                customer_id=request.customer_id,
                subscription_id=request.subscription_id,
                statuses=request.statuses,
                page_size=request.page_size,
                page_token=request.page_token,
            )
        )
        return gi.ListInvoicesResponse(invoices=answer.invoices, next_page_token=answer.next_page_token)

    async def get_invoice_pdf(self, caller: Caller, request: gi.GetInvoicePdfRequest) -> gi.GetInvoicePdfResponse:
        authorize(caller.principal, Permission.READ_INVOICES)
        require(request, "document_id")
        answer = await self.peers.invoices.GetInvoicePdf(pi.GetInvoicePdfRequest(document_id=request.document_id))
        return gi.GetInvoicePdfResponse(file_name=answer.file_name, pdf=answer.pdf)

    async def void_invoice(self, caller: Caller, request: gi.VoidInvoiceRequest) -> gi.VoidInvoiceResponse:
        authorize(caller.principal, Permission.VOID_INVOICES)
        require_mutation(request, "invoice_id")
        answer = await self.peers.invoices.VoidInvoice(
            pi.VoidInvoiceRequest(request_id=request.request_id, invoice_id=request.invoice_id, reason=request.reason)
        )
        return gi.VoidInvoiceResponse(invoice=answer.invoice)

    async def mark_invoice_uncollectible(
        self, caller: Caller, request: gi.MarkInvoiceUncollectibleRequest
    ) -> gi.MarkInvoiceUncollectibleResponse:
        authorize(caller.principal, Permission.VOID_INVOICES)
        require_mutation(request, "invoice_id")
        answer = await self.peers.invoices.MarkInvoiceUncollectible(
            pi.MarkInvoiceUncollectibleRequest(
                request_id=request.request_id, invoice_id=request.invoice_id, reason=request.reason
            )
        )
        return gi.MarkInvoiceUncollectibleResponse(invoice=answer.invoice)

    async def create_credit_note(
        self, caller: Caller, request: gi.CreateCreditNoteRequest
    ) -> gi.CreateCreditNoteResponse:
        authorize(caller.principal, Permission.MANAGE_INVOICES)
        require_mutation(request, "invoice_id", "reason")
        answer = await self.peers.invoices.CreateCreditNote(
            pi.CreateCreditNoteRequest(
                request_id=request.request_id, invoice_id=request.invoice_id, amount=request.amount,
                reason=request.reason,
            )
        )  # fmt: skip
        return gi.CreateCreditNoteResponse(credit_note=answer.credit_note, invoice=answer.invoice)

    async def record_invoice_payment(
        self, caller: Caller, request: gi.RecordInvoicePaymentRequest
    ) -> gi.RecordInvoicePaymentResponse:
        authorize(caller.principal, Permission.RECORD_INVOICE_PAYMENTS)
        require_mutation(request, "invoice_id")
        answer = await self.peers.invoices.RecordInvoicePayment(
            pi.RecordInvoicePaymentRequest(
                request_id=request.request_id,
                invoice_id=request.invoice_id,
                amount=request.amount,
                received_on=request.received_on,
                bank_reference=request.bank_reference,
                payer=request.payer,
                note=request.note,
            )
        )
        return gi.RecordInvoicePaymentResponse(payment=answer.payment, invoice=answer.invoice)

    async def import_bank_statement(
        self, caller: Caller, request: gi.ImportBankStatementRequest
    ) -> gi.ImportBankStatementResponse:
        authorize(caller.principal, Permission.RECORD_INVOICE_PAYMENTS)
        require_mutation(request)
        answer = await self.peers.invoices.ImportBankStatement(
            pi.ImportBankStatementRequest(
                request_id=request.request_id, format=request.format, content=request.content,
                file_name=request.file_name,
            )
        )  # fmt: skip
        return gi.ImportBankStatementResponse(statement=answer.statement, payments=answer.payments)

    async def list_bank_payments(
        self, caller: Caller, request: gi.ListBankPaymentsRequest
    ) -> gi.ListBankPaymentsResponse:
        authorize(caller.principal, Permission.READ_INVOICES)
        answer = await self.peers.invoices.ListBankPayments(
            pi.ListBankPaymentsRequest(
                status=request.status, invoice_id=request.invoice_id, page_size=request.page_size,
                page_token=request.page_token,
            )
        )  # fmt: skip
        return gi.ListBankPaymentsResponse(payments=answer.payments, next_page_token=answer.next_page_token)

    async def assign_bank_payment(
        self, caller: Caller, request: gi.AssignBankPaymentRequest
    ) -> gi.AssignBankPaymentResponse:
        authorize(caller.principal, Permission.RECORD_INVOICE_PAYMENTS)
        require_mutation(request, "payment_id", "invoice_id")
        answer = await self.peers.invoices.AssignBankPayment(
            pi.AssignBankPaymentRequest(
                request_id=request.request_id, payment_id=request.payment_id, invoice_id=request.invoice_id
            )
        )
        return gi.AssignBankPaymentResponse(payment=answer.payment, invoice=answer.invoice)

    async def set_invoice_profile(
        self, caller: Caller, request: gi.SetInvoiceProfileRequest
    ) -> gi.SetInvoiceProfileResponse:
        authorize(caller.principal, Permission.MANAGE_INVOICES)
        require_mutation(request)
        answer = await self.peers.invoices.SetInvoiceProfile(
            pi.SetInvoiceProfileRequest(request_id=request.request_id, profile=request.profile)
        )
        return gi.SetInvoiceProfileResponse(profile=answer.profile)

    async def get_invoice_profile(
        self, caller: Caller, request: gi.GetInvoiceProfileRequest
    ) -> gi.GetInvoiceProfileResponse:
        authorize(caller.principal, Permission.READ_INVOICES)
        require(request, "storefront_id")
        answer = await self.peers.invoices.GetInvoiceProfile(
            pi.GetInvoiceProfileRequest(storefront_id=request.storefront_id)
        )
        return gi.GetInvoiceProfileResponse(profile=answer.profile)
