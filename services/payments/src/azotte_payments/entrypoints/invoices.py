"""gRPC InvoicesService: proto -> command -> use case -> proto, nothing else."""

from __future__ import annotations

from typing import Any

import grpc

from azotte.payments.v1 import invoices_pb2 as pb
from azotte.payments.v1 import invoices_pb2_grpc
from azotte_payments.adapters import invoice_proto as proto
from azotte_payments.domain.invoices import Invoice, InvoiceQuery
from azotte_payments.ports import InvoicingUnitOfWork
from azotte_payments.service_layer import bank_transfers, invoices
from azotte_payments.service_layer.invoices import InvoiceTools
from azotte_platform.context import require_tenant
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

Context = grpc.aio.ServicerContext[Any, Any]
MAX_INVOICES_PER_CALL = 500


def create_invoice_command(request: pb.CreateInvoiceRequest) -> invoices.CreateInvoice:
    """The command of a CreateInvoice request; the key defaults to the request id."""
    currency = proto.line_currency(request)
    return invoices.CreateInvoice(
        idempotency_key=request.idempotency_key or request.request_id,
        customer_id=request.customer_id,
        storefront_id=request.storefront_id,
        currency=currency,
        lines=proto.lines_from_pb(request.lines, currency),
        bill_to=proto.bill_to_from_pb(request.bill_to),
        due_in_days=request.due_in_days,
        subscription_id=request.subscription_id,
        period_key=request.period_key,
        memo=request.memo,
        issue=request.issue,
        reminder_days=tuple(request.reminder_days),
    )


class InvoicesServicer(invoices_pb2_grpc.InvoicesServiceServicer):
    """Translates InvoicesService calls into use cases."""

    def __init__(self, units: Units[InvoicingUnitOfWork], tools: InvoiceTools):
        self.units = units
        self._tools = tools

    async def CreateInvoice(self, request: pb.CreateInvoiceRequest, context: Context) -> pb.CreateInvoiceResponse:
        command = create_invoice_command(request)

        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.CreateInvoiceResponse:
            invoice = await invoices.create_invoice(uow, tenant, self._tools, command)
            return pb.CreateInvoiceResponse(invoice=proto.invoice_to_pb(invoice))

        return await self.units.mutate(request, pb.CreateInvoiceResponse, work)

    async def CreateInvoices(self, request: pb.CreateInvoicesRequest, context: Context) -> pb.CreateInvoicesResponse:
        if len(request.invoices) > MAX_INVOICES_PER_CALL:
            raise InvalidArgument.field("invoices", f"must hold at most {MAX_INVOICES_PER_CALL} invoices")
        answers: dict[int, AzotteError] = {}
        commands: list[invoices.CreateInvoice] = []
        for index, item in enumerate(request.invoices):
            try:
                commands.append(create_invoice_command(item))
            except AzotteError as error:
                answers[index] = error

        # NOTE: no request id of its own: each item is idempotent by its key, which a retry of the batch repeats.
        tenant = require_tenant()
        async with self.units.factory() as uow:
            made: list[Invoice | AzotteError] = await invoices.create_invoices(uow, tenant, self._tools, commands)
            await uow.commit()
        created = iter(made)
        results = [answers.get(index) or next(created) for index in range(len(request.invoices))]
        return pb.CreateInvoicesResponse(results=[proto.invoice_result_to_pb(answer) for answer in results])

    async def IssueInvoice(self, request: pb.IssueInvoiceRequest, context: Context) -> pb.IssueInvoiceResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.IssueInvoiceResponse:
            invoice = await invoices.issue_invoice(uow, tenant, self._tools, request.invoice_id)
            return pb.IssueInvoiceResponse(invoice=proto.invoice_to_pb(invoice))

        return await self.units.mutate(request, pb.IssueInvoiceResponse, work)

    async def GetInvoice(self, request: pb.GetInvoiceRequest, context: Context) -> pb.GetInvoiceResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.GetInvoiceResponse:
            invoice, notes = await invoices.get_invoice(uow, tenant, request.invoice_id)
            return pb.GetInvoiceResponse(
                invoice=proto.invoice_to_pb(invoice), credit_notes=[proto.credit_note_to_pb(n) for n in notes]
            )

        return await self.units.read(work)

    async def ListInvoices(self, request: pb.ListInvoicesRequest, context: Context) -> pb.ListInvoicesResponse:
        query = InvoiceQuery(request.customer_id, request.subscription_id, proto.statuses_from_pb(request.statuses))
        page = PageRequest.of(request, "invoices", query.customer_id, query.subscription_id, *query.statuses)

        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.ListInvoicesResponse:
            found = await invoices.list_invoices(uow, tenant, query, page)
            return pb.ListInvoicesResponse(
                invoices=[proto.invoice_to_pb(invoice) for invoice in found.items],
                next_page_token=found.next_page_token,
            )

        return await self.units.read(work)

    async def GetInvoicePdf(self, request: pb.GetInvoicePdfRequest, context: Context) -> pb.GetInvoicePdfResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.GetInvoicePdfResponse:
            file_name, pdf = await invoices.document_pdf(uow, tenant, self._tools, request.document_id)
            return pb.GetInvoicePdfResponse(file_name=file_name, pdf=pdf)

        return await self.units.read(work)

    async def VoidInvoice(self, request: pb.VoidInvoiceRequest, context: Context) -> pb.VoidInvoiceResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.VoidInvoiceResponse:
            invoice = await invoices.void_invoice(uow, tenant, request.invoice_id, request.reason)
            return pb.VoidInvoiceResponse(invoice=proto.invoice_to_pb(invoice))

        return await self.units.mutate(request, pb.VoidInvoiceResponse, work)

    async def MarkInvoiceUncollectible(
        self, request: pb.MarkInvoiceUncollectibleRequest, context: Context
    ) -> pb.MarkInvoiceUncollectibleResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.MarkInvoiceUncollectibleResponse:
            invoice = await invoices.write_off_invoice(uow, tenant, request.invoice_id, request.reason)
            return pb.MarkInvoiceUncollectibleResponse(invoice=proto.invoice_to_pb(invoice))

        return await self.units.mutate(request, pb.MarkInvoiceUncollectibleResponse, work)

    async def CreateCreditNote(
        self, request: pb.CreateCreditNoteRequest, context: Context
    ) -> pb.CreateCreditNoteResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.CreateCreditNoteResponse:
            command = invoices.CreditInvoice(
                request.invoice_id, request.amount.amount_minor, request.amount.currency_code, request.reason
            )
            note, invoice = await invoices.credit_invoice(uow, tenant, self._tools, command)
            return pb.CreateCreditNoteResponse(
                credit_note=proto.credit_note_to_pb(note), invoice=proto.invoice_to_pb(invoice)
            )

        return await self.units.mutate(request, pb.CreateCreditNoteResponse, work)

    async def RecordInvoicePayment(
        self, request: pb.RecordInvoicePaymentRequest, context: Context
    ) -> pb.RecordInvoicePaymentResponse:
        command = bank_transfers.RecordPayment(
            invoice_id=request.invoice_id,
            amount_minor=request.amount.amount_minor,
            currency=request.amount.currency_code,
            received_on=proto.date_from_text(request.received_on, "received_on"),
            bank_reference=request.bank_reference,
            payer=request.payer,
            note=request.note,
        )

        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.RecordInvoicePaymentResponse:
            payment, invoice = await bank_transfers.record_payment(uow, tenant, command)
            return pb.RecordInvoicePaymentResponse(
                payment=proto.bank_payment_to_pb(payment), invoice=proto.invoice_to_pb(invoice)
            )

        return await self.units.mutate(request, pb.RecordInvoicePaymentResponse, work)

    async def ImportBankStatement(
        self, request: pb.ImportBankStatementRequest, context: Context
    ) -> pb.ImportBankStatementResponse:
        statement_format = proto.statement_format_from_pb(request.format)

        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.ImportBankStatementResponse:
            statement, payments = await bank_transfers.import_statement(
                uow, tenant, statement_format, request.content, request.file_name
            )
            return pb.ImportBankStatementResponse(
                statement=proto.statement_import_to_pb(statement),
                payments=[proto.bank_payment_to_pb(payment) for payment in payments],
            )

        return await self.units.mutate(request, pb.ImportBankStatementResponse, work)

    async def ListBankPayments(
        self, request: pb.ListBankPaymentsRequest, context: Context
    ) -> pb.ListBankPaymentsResponse:
        status = proto.payment_status_from_pb(request.status)
        page = PageRequest.of(request, "bank_payments", status or "", request.invoice_id)

        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.ListBankPaymentsResponse:
            found = await bank_transfers.list_payments(uow, tenant, status, request.invoice_id, page)
            return pb.ListBankPaymentsResponse(
                payments=[proto.bank_payment_to_pb(payment) for payment in found.items],
                next_page_token=found.next_page_token,
            )

        return await self.units.read(work)

    async def AssignBankPayment(
        self, request: pb.AssignBankPaymentRequest, context: Context
    ) -> pb.AssignBankPaymentResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.AssignBankPaymentResponse:
            payment, invoice = await bank_transfers.assign_payment(uow, tenant, request.payment_id, request.invoice_id)
            return pb.AssignBankPaymentResponse(
                payment=proto.bank_payment_to_pb(payment), invoice=proto.invoice_to_pb(invoice)
            )

        return await self.units.mutate(request, pb.AssignBankPaymentResponse, work)

    async def SetInvoiceProfile(
        self, request: pb.SetInvoiceProfileRequest, context: Context
    ) -> pb.SetInvoiceProfileResponse:
        profile = proto.profile_from_pb(request.profile)

        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.SetInvoiceProfileResponse:
            saved = await invoices.set_profile(uow, tenant, profile)
            return pb.SetInvoiceProfileResponse(profile=proto.profile_to_pb(saved))

        return await self.units.mutate(request, pb.SetInvoiceProfileResponse, work)

    async def GetInvoiceProfile(
        self, request: pb.GetInvoiceProfileRequest, context: Context
    ) -> pb.GetInvoiceProfileResponse:
        async def work(uow: InvoicingUnitOfWork, tenant: str) -> pb.GetInvoiceProfileResponse:
            profile = await invoices.get_profile(uow, tenant, request.storefront_id)
            return pb.GetInvoiceProfileResponse(profile=proto.profile_to_pb(profile))

        return await self.units.read(work)
