"""gRPC PaymentsService: proto -> command -> use case -> proto, nothing else."""

from __future__ import annotations

from typing import Any

import grpc

from azotte.payments.v1 import disputes_pb2, payments_pb2_grpc
from azotte.payments.v1 import payments_pb2 as pb
from azotte.payments.v1 import psp_accounts_pb2 as accounts_pb
from azotte.payments.v1 import store_sales_pb2 as store_sales_pb
from azotte_payments.adapters import proto
from azotte_payments.domain.charge import Charge, ChargeQuery
from azotte_payments.domain.payment_method import PaymentMethodQuery
from azotte_payments.domain.psp_account import PspCredentials
from azotte_payments.domain.psp_notice import PaymentStatusChanged
from azotte_payments.ports import CredentialSealer, PaymentServiceProviders, PaymentsUnitOfWork, PspWebhookVerifier
from azotte_payments.service_layer import (
    charges,
    credits,
    payment_methods,
    psp_accounts,
    refunds,
    reports,
    store_sales,
)
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_payments.service_layer.charges import ChargeDesk
from azotte_payments.service_layer.dispute_policy import get_dispute_policy, update_dispute_policy
from azotte_payments.service_layer.psp_settlements import settle_awaited_charge
from azotte_payments.service_layer.psp_webhooks import receive_psp_webhook
from azotte_platform.context import require_tenant
from azotte_platform.errors import AzotteError
from azotte_platform.paging import PageRequest
from azotte_platform.service_kit import Units

Context = grpc.aio.ServicerContext[Any, Any]


def create_charge_command(request: pb.CreateChargeRequest) -> CreateCharge:
    """The command of a CreateCharge request; the key defaults to the request id."""
    return CreateCharge(
        idempotency_key=request.idempotency_key or request.request_id,
        customer_id=request.customer_id,
        storefront_id=request.storefront_id,
        channel=proto.channel_name(request.channel),
        plan_id=request.plan_id,
        amount_minor=request.amount.amount_minor,
        currency=request.amount.currency_code,
        discount_minor=request.discount.amount_minor,
        discount_currency=request.discount.currency_code,
        tax_policy=proto.tax_policy_from_pb(request),
        payment_method_id=request.payment_method_id,
        description=request.description,
        subscription_id=request.subscription_id,
        period_key=request.period_key,
        country_code=request.country_code,
        lines=proto.charge_lines_from_pb(request.lines),
    )


class PaymentsServicer(payments_pb2_grpc.PaymentsServiceServicer):
    """Translates PaymentsService calls into use cases."""

    def __init__(
        self,
        units: Units[PaymentsUnitOfWork],
        desk: ChargeDesk,
        psps: PaymentServiceProviders,
        sealer: CredentialSealer,
        webhooks: PspWebhookVerifier,
    ):
        self.units = units
        self._desk = desk
        self._psps = psps
        self._sealer = sealer
        self._webhooks = webhooks

    async def CreatePaymentMethod(
        self, request: pb.CreatePaymentMethodRequest, context: Context
    ) -> pb.CreatePaymentMethodResponse:
        command = payment_methods.AddPaymentMethod(
            customer_id=request.customer_id,
            method_type=proto.payment_method_type_from_pb(request.type),
            token=request.token,
            brand=request.brand,
            last4=request.last4,
            exp_month=request.exp_month or None,
            exp_year=request.exp_year or None,
            make_default=request.make_default,
        )

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.CreatePaymentMethodResponse:
            method = await payment_methods.add_payment_method(uow, tenant, command)
            return pb.CreatePaymentMethodResponse(payment_method=proto.payment_method_to_pb(method))

        return await self.units.mutate(request, pb.CreatePaymentMethodResponse, work)

    async def ListPaymentMethods(
        self, request: pb.ListPaymentMethodsRequest, context: Context
    ) -> pb.ListPaymentMethodsResponse:
        query = PaymentMethodQuery(
            request.customer_id,
            proto.payment_method_type_from_pb(request.type),
            request.is_default if request.HasField("is_default") else None,
            request.newest_first,
        )
        page = PageRequest.of(request, *query.key)

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.ListPaymentMethodsResponse:
            found = await payment_methods.list_payment_methods(uow, tenant, query, page)
            return pb.ListPaymentMethodsResponse(
                payment_methods=[proto.payment_method_to_pb(method) for method in found.items],
                next_page_token=found.next_page_token,
            )

        return await self.units.read(work)

    async def SetDefaultPaymentMethod(
        self, request: pb.SetDefaultPaymentMethodRequest, context: Context
    ) -> pb.SetDefaultPaymentMethodResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.SetDefaultPaymentMethodResponse:
            method = await payment_methods.set_default_payment_method(
                uow, tenant, request.customer_id, request.payment_method_id
            )
            return pb.SetDefaultPaymentMethodResponse(payment_method=proto.payment_method_to_pb(method))

        return await self.units.mutate(request, pb.SetDefaultPaymentMethodResponse, work)

    async def DeletePaymentMethod(
        self, request: pb.DeletePaymentMethodRequest, context: Context
    ) -> pb.DeletePaymentMethodResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.DeletePaymentMethodResponse:
            default = await payment_methods.delete_payment_method(
                uow, tenant, request.customer_id, request.payment_method_id, keep_last=request.keep_last
            )
            response = pb.DeletePaymentMethodResponse()
            if default is not None:
                response.default_payment_method.CopyFrom(proto.payment_method_to_pb(default))
            return response

        return await self.units.mutate(request, pb.DeletePaymentMethodResponse, work)

    async def CreateCharge(self, request: pb.CreateChargeRequest, context: Context) -> pb.CreateChargeResponse:
        # NOTE: a charge is made once per idempotency key by the desk (not per request id), across many
        # transactions, so neither `Units.read` nor `Units.mutate` applies.
        charge = await self._desk.create(require_tenant(), create_charge_command(request))
        return pb.CreateChargeResponse(charge=proto.charge_to_pb(charge))

    async def CreateCharges(self, request: pb.CreateChargesRequest, context: Context) -> pb.CreateChargesResponse:
        tenant = require_tenant()
        answers: dict[int, Charge | AzotteError] = {}
        commands: list[CreateCharge] = []
        for index, item in enumerate(request.charges):
            try:
                commands.append(create_charge_command(item))
            except AzotteError as error:
                answers[index] = error
        charged = iter(await self._desk.create_many(tenant, commands))
        results = [answers.get(index) or next(charged) for index in range(len(request.charges))]
        return pb.CreateChargesResponse(results=[proto.charge_result_to_pb(answer) for answer in results])

    async def GetCharge(self, request: pb.GetChargeRequest, context: Context) -> pb.GetChargeResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.GetChargeResponse:
            charge, found = await charges.get_charge(uow, tenant, request.charge_id)
            return pb.GetChargeResponse(
                charge=proto.charge_to_pb(charge),
                refunds=[proto.refund_to_pb(refund, reason) for refund, reason in found],
            )

        return await self.units.read(work)

    async def ListCharges(self, request: pb.ListChargesRequest, context: Context) -> pb.ListChargesResponse:
        query = ChargeQuery(
            customer_id=request.customer_id,
            subscription_id=request.subscription_id,
            statuses=tuple(sorted(set(proto.charge_statuses_from_pb(request)))),
            refunded=proto.refunded_filter_from_pb(request.refunded),
            oldest_first=request.oldest_first,
        )
        page = PageRequest.of(
            request, query.customer_id, query.subscription_id, query.statuses, query.refunded, query.oldest_first
        )

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.ListChargesResponse:
            found = await charges.list_charges(uow, tenant, query, page)
            return pb.ListChargesResponse(
                charges=[proto.charge_to_pb(charge) for charge in found.items], next_page_token=found.next_page_token
            )

        return await self.units.read(work)

    async def RefundCharge(self, request: pb.RefundChargeRequest, context: Context) -> pb.RefundChargeResponse:
        command = refunds.RefundCharge(
            request_id=request.request_id,
            charge_id=request.charge_id,
            amount_minor=request.amount.amount_minor if request.HasField("amount") else None,
            currency=request.amount.currency_code,
            to_credit=request.to_credit,
            reason=request.reason,
        )

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.RefundChargeResponse:
            refund, charge = await refunds.refund_charge(uow, tenant, self._psps, command)
            return pb.RefundChargeResponse(
                refund=proto.refund_to_pb(refund, command.reason), charge=proto.charge_to_pb(charge)
            )

        return await self.units.mutate(request, pb.RefundChargeResponse, work)

    async def VoidCharge(self, request: pb.VoidChargeRequest, context: Context) -> pb.VoidChargeResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.VoidChargeResponse:
            charge = await refunds.void_charge(uow, tenant, self._psps, request.charge_id)
            return pb.VoidChargeResponse(charge=proto.charge_to_pb(charge))

        return await self.units.mutate(request, pb.VoidChargeResponse, work)

    async def GrantCredit(self, request: pb.GrantCreditRequest, context: Context) -> pb.GrantCreditResponse:
        command = credits.GrantCredit(
            customer_id=request.customer_id,
            amount_minor=request.amount.amount_minor,
            currency=request.amount.currency_code,
            reason=request.reason,
            storefront_id=request.storefront_id,
            channel=proto.channel_name(request.channel),
            plan_id=request.plan_id,
        )

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.GrantCreditResponse:
            balance = await credits.grant_credit(uow, tenant, command)
            return pb.GrantCreditResponse(balance=proto.credit_balance_to_pb(balance))

        return await self.units.mutate(request, pb.GrantCreditResponse, work)

    async def GetCreditBalance(
        self, request: pb.GetCreditBalanceRequest, context: Context
    ) -> pb.GetCreditBalanceResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.GetCreditBalanceResponse:
            balance = await credits.credit_balance(uow, tenant, request.customer_id, request.currency_code)
            return pb.GetCreditBalanceResponse(balance=proto.credit_balance_to_pb(balance))

        return await self.units.read(work)

    async def ListCreditBalances(
        self, request: pb.ListCreditBalancesRequest, context: Context
    ) -> pb.ListCreditBalancesResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.ListCreditBalancesResponse:
            balances = await credits.credit_balances(uow, tenant, request.customer_id)
            return pb.ListCreditBalancesResponse(balances=[proto.credit_balance_to_pb(b) for b in balances])

        return await self.units.read(work)

    async def ListCreditMovements(
        self, request: pb.ListCreditMovementsRequest, context: Context
    ) -> pb.ListCreditMovementsResponse:
        kind = proto.credit_movement_kind_from_pb(request.kind)
        page = PageRequest.of(request, "credit_movements", request.customer_id, request.currency_code, kind)

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.ListCreditMovementsResponse:
            found = await credits.credit_movements(uow, tenant, request.customer_id, request.currency_code, kind, page)
            return pb.ListCreditMovementsResponse(
                movements=[proto.credit_movement_to_pb(m) for m in found.items], next_page_token=found.next_page_token
            )

        return await self.units.read(work)

    async def GetRevenueReport(
        self, request: pb.GetRevenueReportRequest, context: Context
    ) -> pb.GetRevenueReportResponse:
        group_by = proto.group_by_from_pb(request)

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.GetRevenueReportResponse:
            rows = await reports.revenue(uow, tenant, request.period_from, request.period_to, group_by)
            return pb.GetRevenueReportResponse(rows=[proto.revenue_row_to_pb(row) for row in rows])

        return await self.units.read(work)

    async def RecordStoreSale(
        self, request: store_sales_pb.RecordStoreSaleRequest, context: Context
    ) -> store_sales_pb.RecordStoreSaleResponse:
        command = proto.record_store_sale_from_pb(request)

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> store_sales_pb.RecordStoreSaleResponse:
            sale = await store_sales.record_store_sale(uow, self._desk.storefronts, tenant, command)
            return store_sales_pb.RecordStoreSaleResponse(sale=proto.store_sale_to_pb(sale))

        return await self.units.mutate(request, store_sales_pb.RecordStoreSaleResponse, work)

    async def GetLedgerBalance(
        self, request: pb.GetLedgerBalanceRequest, context: Context
    ) -> pb.GetLedgerBalanceResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> pb.GetLedgerBalanceResponse:
            balances = await reports.trial_balance(uow, tenant, request.currency_code)
            return pb.GetLedgerBalanceResponse(
                currencies=[proto.trial_balance_to_pb(currency, accounts) for currency, accounts in balances.items()]
            )

        return await self.units.read(work)

    async def CreatePspAccount(
        self, request: accounts_pb.CreatePspAccountRequest, context: Context
    ) -> accounts_pb.CreatePspAccountResponse:
        command = psp_accounts.ConnectPspAccount(
            account_id=request.account.account_id,
            kind=proto.psp_kind_from_pb(request.account.kind),
            mode=proto.psp_mode_from_pb(request.account.mode),
            display_name=request.account.display_name,
            credentials=PspCredentials(dict(request.credentials)),
        )

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> accounts_pb.CreatePspAccountResponse:
            account = await psp_accounts.connect_psp_account(uow, self._sealer, tenant, command)
            return accounts_pb.CreatePspAccountResponse(account=proto.psp_account_to_pb(account))

        return await self.units.mutate(request, accounts_pb.CreatePspAccountResponse, work)

    async def GetPspAccount(
        self, request: accounts_pb.GetPspAccountRequest, context: Context
    ) -> accounts_pb.GetPspAccountResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> accounts_pb.GetPspAccountResponse:
            account = await psp_accounts.get_psp_account(uow, tenant, request.account_id)
            return accounts_pb.GetPspAccountResponse(account=proto.psp_account_to_pb(account))

        return await self.units.read(work)

    async def ListPspAccounts(
        self, request: accounts_pb.ListPspAccountsRequest, context: Context
    ) -> accounts_pb.ListPspAccountsResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> accounts_pb.ListPspAccountsResponse:
            accounts = await psp_accounts.list_psp_accounts(uow, tenant)
            return accounts_pb.ListPspAccountsResponse(accounts=[proto.psp_account_to_pb(a) for a in accounts])

        return await self.units.read(work)

    async def RewrapPspAccounts(
        self, request: accounts_pb.RewrapPspAccountsRequest, context: Context
    ) -> accounts_pb.RewrapPspAccountsResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> accounts_pb.RewrapPspAccountsResponse:
            count = await psp_accounts.rewrap_psp_accounts(uow, self._sealer, tenant)
            return accounts_pb.RewrapPspAccountsResponse(rewrapped_count=count)

        return await self.units.mutate(request, accounts_pb.RewrapPspAccountsResponse, work)

    async def ReceivePspWebhook(
        self, request: accounts_pb.ReceivePspWebhookRequest, context: Context
    ) -> accounts_pb.ReceivePspWebhookResponse:
        tenant = require_tenant()
        psps = await self._psps.for_tenant(tenant)
        # NOTE: no request id: the PSP's event id, known once the signature verifies, makes it idempotent.
        async with self.units.factory() as uow:
            event, duplicate = await receive_psp_webhook(
                uow, self._sealer, self._webhooks, psps, tenant, request.account_id, request.payload, request.signature
            )
            await uow.commit()
        if isinstance(event.notice, PaymentStatusChanged):
            await settle_awaited_charge(
                self.units.factory, self._desk.processor, tenant, request.account_id, event.notice.psp_reference
            )
        return accounts_pb.ReceivePspWebhookResponse(
            event_id=event.event_id, event_type=event.event_type, duplicate=duplicate
        )

    async def GetDisputePolicy(
        self, request: disputes_pb2.GetDisputePolicyRequest, context: Context
    ) -> disputes_pb2.GetDisputePolicyResponse:
        async def work(uow: PaymentsUnitOfWork, tenant: str) -> disputes_pb2.GetDisputePolicyResponse:
            policy = await get_dispute_policy(uow, tenant)
            return disputes_pb2.GetDisputePolicyResponse(policy=proto.dispute_policy_to_pb(policy))

        return await self.units.read(work)

    async def UpdateDisputePolicy(
        self, request: disputes_pb2.UpdateDisputePolicyRequest, context: Context
    ) -> disputes_pb2.UpdateDisputePolicyResponse:
        access = proto.dispute_access_from_pb(request.policy.on_dispute_opened)

        async def work(uow: PaymentsUnitOfWork, tenant: str) -> disputes_pb2.UpdateDisputePolicyResponse:
            policy = await update_dispute_policy(uow, tenant, access)
            return disputes_pb2.UpdateDisputePolicyResponse(policy=proto.dispute_policy_to_pb(policy))

        return await self.units.mutate(request, disputes_pb2.UpdateDisputePolicyResponse, work)
