"""REST endpoints of invoices, credit notes, bank transfers and statement imports."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import Response
from pydantic import Field

from azotte.common.v1 import money_pb2
from azotte.gateway.v1 import invoices_pb2 as gi
from azotte.payments.v1 import invoices_pb2 as pi
from azotte_gateway.entrypoints.rest.common import JSON, Body, Gw, MutatingBody, PageSize, Who, js
from azotte_gateway.entrypoints.rest.schemas import answers

router = APIRouter(tags=["invoices"])

READ = "Role: `read_invoices` (viewer and up)."
MANAGE = "Role: `manage_invoices` (manager and up)."
RECORD = "Role: `record_invoice_payments` (operator and up)."
VOID = "Role: `void_invoices` (admin)."
LineKind = Literal["RECURRING", "USAGE", "TRUE_UP", "DISCOUNT", "CREDIT"]
Status = Literal["DRAFT", "OPEN", "PARTIALLY_PAID", "PAID", "OVERDUE", "VOID", "UNCOLLECTIBLE"]


class MoneyBody(Body):
    currency_code: str = Field(default="", max_length=3)
    amount_minor: int = 0

    def pb(self) -> money_pb2.Money:
        return money_pb2.Money(currency_code=self.currency_code, amount_minor=self.amount_minor)


class LineBody(Body):
    kind: LineKind
    description: str = ""
    amount: MoneyBody = Field(default_factory=MoneyBody, description="Positive; discounts and credits subtract.")
    quantity: str = Field(default="", description="Decimal; empty is 1.")
    unit_price_minor: str = Field(default="", description="Decimal, in minor units per unit (informative).")
    plan_id: str = ""
    meter_id: str = Field(default="", description="Required on USAGE lines.")
    dimension: str = ""

    def pb(self) -> pi.InvoiceLine:
        return pi.InvoiceLine(
            kind=pi.InvoiceLineKind.Value(f"INVOICE_LINE_KIND_{self.kind}"), description=self.description,
            amount=self.amount.pb(), quantity=self.quantity, unit_price_minor=self.unit_price_minor,
            plan_id=self.plan_id, meter_id=self.meter_id, dimension=self.dimension,
        )  # fmt: skip


class BillToBody(Body):
    name: str = ""
    email: str = ""
    address: str = ""
    country_code: str = ""
    tax_id: str = Field(default="", description="A business's tax id; another country's means reverse charge.")


class CreateInvoiceBody(MutatingBody):
    customer_id: str = ""
    storefront_id: str = ""
    lines: list[LineBody] = Field(default_factory=list, max_length=500)
    bill_to: BillToBody = Field(default_factory=BillToBody)
    due_in_days: int = Field(
        default=14, ge=-(2**31), le=2**31 - 1, description="Payment terms: due this many days after issue (0 to 365)."
    )
    subscription_id: str = ""
    memo: str = ""
    issue: bool = Field(default=False, description="Issue at once instead of keeping a draft.")
    reminder_days: list[Annotated[int, Field(ge=-(2**31), le=2**31 - 1)]] = Field(
        default_factory=list,
        max_length=100,
        description="Days from the due date (negative: before it) on which `invoice.reminder` goes to webhooks while "
        "the invoice is unpaid: distinct, between -90 and 90. A day on or before the issue day is dropped.",
    )


class ReasonBody(MutatingBody):
    reason: str = ""


class CreditNoteBody(MutatingBody):
    amount: MoneyBody = Field(default_factory=MoneyBody, description="Tax included.")
    reason: str = ""


class PaymentBody(MutatingBody):
    amount: MoneyBody = Field(default_factory=MoneyBody)
    received_on: str = Field(default="", description="YYYY-MM-DD; empty is today.")
    bank_reference: str = Field(default="", description="The bank's id of the transfer: recorded once.")
    payer: str = ""
    note: str = ""


class AssignBody(MutatingBody):
    invoice_id: str = ""


class ProfileBody(MutatingBody):
    seller_name: str = ""
    seller_address: str = ""
    seller_tax_id: str = ""
    bank_account_holder: str = ""
    iban: str = ""
    bic: str = ""


@router.post(
    "/v1/invoices",
    summary="Create an invoice (a draft, or issued at once)",
    description=MANAGE + " Issuing gives it the storefront's next number, its tax (reverse charge for a business "
    "customer of another country), a due date, a payment reference and a PDF (rendered after the answer; "
    "`GET .../pdf` renders it at once until then); `invoice.issued` goes to webhooks.",
    **answers(gi.CreateInvoiceResponse),
)
async def create_invoice(body: CreateInvoiceBody, who: Who, g: Gw) -> JSON:
    request = gi.CreateInvoiceRequest(
        request_id=body.request_id, customer_id=body.customer_id, storefront_id=body.storefront_id,
        lines=[line.pb() for line in body.lines], bill_to=pi.BillTo(**body.bill_to.model_dump()),
        due_in_days=body.due_in_days, subscription_id=body.subscription_id, memo=body.memo, issue=body.issue,
        reminder_days=body.reminder_days,
    )  # fmt: skip
    return js(await g.invoices.create_invoice(who, request))


@router.post(
    "/v1/invoices/{invoice_id}:issue", summary="Issue a draft", description=MANAGE, **answers(gi.IssueInvoiceResponse)
)
async def issue_invoice(invoice_id: str, body: MutatingBody, who: Who, g: Gw) -> JSON:
    request = gi.IssueInvoiceRequest(request_id=body.request_id, invoice_id=invoice_id)
    return js(await g.invoices.issue_invoice(who, request))


@router.get(
    "/v1/invoices",
    summary="List invoices, newest first",
    description=READ,
    **answers(gi.ListInvoicesResponse),
)
async def list_invoices(
    who: Who,
    g: Gw,
    customer_id: str = "",
    subscription_id: str = "",
    status: Annotated[list[Status] | None, Query()] = None,
    page_size: PageSize = 0,
    page_token: str = "",
) -> JSON:
    request = gi.ListInvoicesRequest(
        customer_id=customer_id, subscription_id=subscription_id, page_size=page_size, page_token=page_token,
        statuses=[pi.InvoiceStatus.Value(f"INVOICE_STATUS_{value}") for value in status or []],
    )  # fmt: skip
    return js(await g.invoices.list_invoices(who, request))


@router.get(
    "/v1/invoices/{invoice_id}",
    summary="An invoice and its credit notes",
    description=READ,
    **answers(gi.GetInvoiceResponse),
)
async def get_invoice(invoice_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.invoices.get_invoice(who, gi.GetInvoiceRequest(invoice_id=invoice_id)))


@router.get(
    "/v1/invoices/{invoice_id}/pdf",
    summary="An issued invoice as PDF",
    description=READ,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def invoice_pdf(invoice_id: str, who: Who, g: Gw) -> Response:
    return await _pdf(invoice_id, who, g)


@router.get(
    "/v1/credit-notes/{credit_note_id}/pdf",
    summary="A credit note as PDF",
    description=READ,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
async def credit_note_pdf(credit_note_id: str, who: Who, g: Gw) -> Response:
    return await _pdf(credit_note_id, who, g)


async def _pdf(document_id: str, who: Who, g: Gw) -> Response:
    answer = await g.invoices.get_invoice_pdf(who, gi.GetInvoicePdfRequest(document_id=document_id))
    disposition = f'attachment; filename="{answer.file_name}"'
    return Response(answer.pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})


@router.post(
    "/v1/invoices/{invoice_id}:void",
    summary="Void an issued, unpaid invoice",
    description=VOID,
    **answers(gi.VoidInvoiceResponse),
)
async def void_invoice(invoice_id: str, body: ReasonBody, who: Who, g: Gw) -> JSON:
    request = gi.VoidInvoiceRequest(request_id=body.request_id, invoice_id=invoice_id, reason=body.reason)
    return js(await g.invoices.void_invoice(who, request))


@router.post(
    "/v1/invoices/{invoice_id}:mark-uncollectible",
    summary="Write an invoice off as uncollectible",
    description=VOID,
    **answers(gi.MarkInvoiceUncollectibleResponse),
)
async def mark_uncollectible(invoice_id: str, body: ReasonBody, who: Who, g: Gw) -> JSON:
    request = gi.MarkInvoiceUncollectibleRequest(request_id=body.request_id, invoice_id=invoice_id, reason=body.reason)
    return js(await g.invoices.mark_invoice_uncollectible(who, request))


@router.post(
    "/v1/invoices/{invoice_id}/credit-notes",
    summary="Issue a credit note for an invoice",
    description=MANAGE + " What the invoice still owed is lowered first; the rest becomes the customer's credit.",
    **answers(gi.CreateCreditNoteResponse),
)
async def create_credit_note(invoice_id: str, body: CreditNoteBody, who: Who, g: Gw) -> JSON:
    request = gi.CreateCreditNoteRequest(
        request_id=body.request_id, invoice_id=invoice_id, amount=body.amount.pb(), reason=body.reason
    )
    return js(await g.invoices.create_credit_note(who, request))


@router.post(
    "/v1/invoices/{invoice_id}/payments",
    summary="Record a bank transfer received for an invoice",
    description=RECORD,
    **answers(gi.RecordInvoicePaymentResponse),
)
async def record_payment(invoice_id: str, body: PaymentBody, who: Who, g: Gw) -> JSON:
    request = gi.RecordInvoicePaymentRequest(
        request_id=body.request_id, invoice_id=invoice_id, amount=body.amount.pb(), received_on=body.received_on,
        bank_reference=body.bank_reference, payer=body.payer, note=body.note,
    )  # fmt: skip
    return js(await g.invoices.record_invoice_payment(who, request))


@router.post(
    "/v1/bank-statements",
    summary="Import a bank statement file (multipart: request_id, format, file)",
    description=RECORD + " CSV (header `date,amount,currency,remittance`, optionally `payer`, `transaction_id`) or "
    "ISO 20022 camt.053, within the 1 MiB body limit; each incoming transfer is recorded once and matched by the "
    "invoice's payment reference.",
    **answers(gi.ImportBankStatementResponse),
)
async def import_statement(
    who: Who,
    g: Gw,
    file: Annotated[UploadFile, File()],
    format: Annotated[Literal["CSV", "CAMT053"], Form()],
    request_id: Annotated[str, Form(max_length=128)] = "",
) -> JSON:
    content = await file.read()
    request = gi.ImportBankStatementRequest(
        request_id=request_id, format=pi.StatementFormat.Value(f"STATEMENT_FORMAT_{format}"), content=content,
        file_name=(file.filename or "")[:255],
    )  # fmt: skip
    return js(await g.invoices.import_bank_statement(who, request))


@router.get(
    "/v1/bank-payments",
    summary="Bank transfers received, oldest first (UNMATCHED: the queue for operators)",
    description=READ,
    **answers(gi.ListBankPaymentsResponse),
)
async def list_bank_payments(
    who: Who,
    g: Gw,
    status: Literal["", "MATCHED", "UNMATCHED"] = "",
    invoice_id: str = "",
    page_size: PageSize = 0,
    page_token: str = "",
) -> JSON:
    request = gi.ListBankPaymentsRequest(
        status=pi.BankPaymentStatus.Value(f"BANK_PAYMENT_STATUS_{status or 'UNSPECIFIED'}"),
        invoice_id=invoice_id, page_size=page_size, page_token=page_token,
    )  # fmt: skip
    return js(await g.invoices.list_bank_payments(who, request))


@router.post(
    "/v1/bank-payments/{payment_id}:assign",
    summary="Assign a queued transfer to an invoice",
    description=RECORD,
    **answers(gi.AssignBankPaymentResponse),
)
async def assign_bank_payment(payment_id: str, body: AssignBody, who: Who, g: Gw) -> JSON:
    request = gi.AssignBankPaymentRequest(request_id=body.request_id, payment_id=payment_id, invoice_id=body.invoice_id)
    return js(await g.invoices.assign_bank_payment(who, request))


@router.put(
    "/v1/storefronts/{storefront_id}/invoice-profile",
    summary="Set the seller details and bank account a storefront's invoices print",
    description=MANAGE,
    **answers(gi.SetInvoiceProfileResponse),
)
async def set_invoice_profile(storefront_id: str, body: ProfileBody, who: Who, g: Gw) -> JSON:
    fields = body.model_dump(exclude={"request_id"})
    profile = pi.InvoiceProfile(storefront_id=storefront_id, **fields)
    return js(
        await g.invoices.set_invoice_profile(
            who, gi.SetInvoiceProfileRequest(request_id=body.request_id, profile=profile)
        )
    )


@router.get(
    "/v1/storefronts/{storefront_id}/invoice-profile",
    summary="A storefront's invoice profile",
    description=READ,
    **answers(gi.GetInvoiceProfileResponse),
)
async def get_invoice_profile(storefront_id: str, who: Who, g: Gw) -> JSON:
    return js(await g.invoices.get_invoice_profile(who, gi.GetInvoiceProfileRequest(storefront_id=storefront_id)))
