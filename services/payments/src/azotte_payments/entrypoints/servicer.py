"""gRPC PaymentsService: proto ↔ commands, nothing else."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

import grpc

from azotte.common.v1 import channel_pb2
from azotte.payments.v1 import payments_pb2, payments_pb2_grpc
from azotte_payments.adapters.psp.registry import PspRegistry
from azotte_payments.domain.charge import Charge
from azotte_payments.domain.ledger import GroupBy
from azotte_payments.domain.payment_method import PaymentMethodType
from azotte_payments.domain.tax import TaxMode, TaxPolicy
from azotte_payments.service_layer import credits, payment_methods, refunds, reports
from azotte_payments.service_layer.charge_batch import CreateCharge
from azotte_payments.service_layer.charges import ChargeDesk
from azotte_payments.service_layer.messages import (
    channel_value,
    charge_message,
    charge_result_message,
    credit_balance_message,
    money,
    payment_method_message,
    refund_message,
)
from azotte_payments.service_layer.unit_of_work import PaymentsUnitOfWork
from azotte_platform.context import require_tenant
from azotte_platform.errors import AzotteError, InvalidArgument
from azotte_platform.idempotency import run_once
from azotte_platform.paging import decode_page_token, encode_page_token, page_size

_METHOD_TYPES = {
    payments_pb2.PAYMENT_METHOD_TYPE_CARD: PaymentMethodType.CARD,
    payments_pb2.PAYMENT_METHOD_TYPE_SEPA_DEBIT: PaymentMethodType.SEPA_DEBIT,
    payments_pb2.PAYMENT_METHOD_TYPE_PAYPAL: PaymentMethodType.PAYPAL,
    payments_pb2.PAYMENT_METHOD_TYPE_WALLET: PaymentMethodType.WALLET,
}
_TAX_MODES = {payments_pb2.TAX_MODE_EXCLUSIVE: TaxMode.EXCLUSIVE, payments_pb2.TAX_MODE_INCLUSIVE: TaxMode.INCLUSIVE}
_GROUP_BY = {
    payments_pb2.REVENUE_DIMENSION_PERIOD: GroupBy.PERIOD,
    payments_pb2.REVENUE_DIMENSION_STOREFRONT: GroupBy.STOREFRONT,
    payments_pb2.REVENUE_DIMENSION_CHANNEL: GroupBy.CHANNEL,
    payments_pb2.REVENUE_DIMENSION_PLAN: GroupBy.PLAN,
}


def _channel_name(channel: channel_pb2.Channel.ValueType) -> str:
    return "" if channel == channel_pb2.CHANNEL_UNSPECIFIED else channel_pb2.Channel.Name(channel)


def _tax_policy(request: payments_pb2.CreateChargeRequest) -> TaxPolicy | None:
    if request.WhichOneof("tax") != "tax_policy":
        return None
    policy = request.tax_policy
    if policy.mode not in _TAX_MODES:
        raise InvalidArgument.field("tax_policy.mode", "must be TAX_MODE_EXCLUSIVE or TAX_MODE_INCLUSIVE")
    try:
        rate = Decimal(policy.rate or "0")
    except InvalidOperation as error:
        raise InvalidArgument.field("tax_policy.rate", "must be a decimal fraction like '0.19'") from error
    return TaxPolicy(_TAX_MODES[policy.mode], rate, policy.country_code)


def create_charge_command(request: payments_pb2.CreateChargeRequest) -> CreateCharge:
    """The command of a CreateCharge request; the key defaults to the request id."""
    return CreateCharge(
        idempotency_key=request.idempotency_key or request.request_id,
        customer_id=request.customer_id,
        storefront_id=request.storefront_id,
        channel=_channel_name(request.channel),
        plan_id=request.plan_id,
        amount_minor=request.amount.amount_minor,
        currency=request.amount.currency_code,
        discount_minor=request.discount.amount_minor,
        discount_currency=request.discount.currency_code,
        tax_policy=_tax_policy(request),
        payment_method_id=request.payment_method_id,
        description=request.description,
        subscription_id=request.subscription_id,
        period_key=request.period_key,
        country_code=request.country_code,
    )


class PaymentsServicer(payments_pb2_grpc.PaymentsServiceServicer):
    """Translates PaymentsService calls into use cases."""

    def __init__(self, uow_factory: Callable[[], PaymentsUnitOfWork], desk: ChargeDesk, psps: PspRegistry):
        self._uow = uow_factory
        self._desk = desk
        self._psps = psps

    async def CreatePaymentMethod(
        self, request: payments_pb2.CreatePaymentMethodRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.CreatePaymentMethodResponse:
        tenant = require_tenant()
        command = payment_methods.AddPaymentMethod(
            customer_id=request.customer_id,
            method_type=_METHOD_TYPES.get(request.type),
            token=request.token,
            brand=request.brand,
            last4=request.last4,
            exp_month=request.exp_month or None,
            exp_year=request.exp_year or None,
            make_default=request.make_default,
        )
        async with self._uow() as uow:

            async def work() -> payments_pb2.CreatePaymentMethodResponse:
                method = await payment_methods.add_payment_method(uow, tenant, command)
                return payments_pb2.CreatePaymentMethodResponse(payment_method=payment_method_message(method))

            return await run_once(
                uow, tenant, "CreatePaymentMethod", request, payments_pb2.CreatePaymentMethodResponse, work
            )

    async def ListPaymentMethods(
        self, request: payments_pb2.ListPaymentMethodsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.ListPaymentMethodsResponse:
        tenant = require_tenant()
        size = page_size(request.page_size)
        query = [request.customer_id]
        after = decode_page_token(request.page_token, query)
        start = int(after[0]) if after else 0
        async with self._uow() as uow:
            customer = await payment_methods.list_payment_methods(uow, tenant, request.customer_id)
        page = customer.methods[start : start + size]
        more = start + size < len(customer.methods)
        return payments_pb2.ListPaymentMethodsResponse(
            payment_methods=[payment_method_message(method) for method in page],
            next_page_token=encode_page_token([start + size], query) if more else "",
        )

    async def SetDefaultPaymentMethod(
        self, request: payments_pb2.SetDefaultPaymentMethodRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.SetDefaultPaymentMethodResponse:
        tenant = require_tenant()
        async with self._uow() as uow:

            async def work() -> payments_pb2.SetDefaultPaymentMethodResponse:
                method = await payment_methods.set_default_payment_method(
                    uow, tenant, request.customer_id, request.payment_method_id
                )
                return payments_pb2.SetDefaultPaymentMethodResponse(payment_method=payment_method_message(method))

            return await run_once(
                uow, tenant, "SetDefaultPaymentMethod", request, payments_pb2.SetDefaultPaymentMethodResponse, work
            )

    async def DeletePaymentMethod(
        self, request: payments_pb2.DeletePaymentMethodRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.DeletePaymentMethodResponse:
        tenant = require_tenant()
        async with self._uow() as uow:

            async def work() -> payments_pb2.DeletePaymentMethodResponse:
                default = await payment_methods.delete_payment_method(
                    uow, tenant, request.customer_id, request.payment_method_id
                )
                response = payments_pb2.DeletePaymentMethodResponse()
                if default is not None:
                    response.default_payment_method.CopyFrom(payment_method_message(default))
                return response

            return await run_once(
                uow, tenant, "DeletePaymentMethod", request, payments_pb2.DeletePaymentMethodResponse, work
            )

    async def CreateCharge(
        self, request: payments_pb2.CreateChargeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.CreateChargeResponse:
        tenant = require_tenant()
        charge = await self._desk.create(tenant, create_charge_command(request))
        return payments_pb2.CreateChargeResponse(charge=charge_message(charge))

    async def CreateCharges(
        self, request: payments_pb2.CreateChargesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.CreateChargesResponse:
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
        return payments_pb2.CreateChargesResponse(results=[charge_result_message(answer) for answer in results])

    async def GetCharge(
        self, request: payments_pb2.GetChargeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.GetChargeResponse:
        tenant = require_tenant()
        async with self._uow() as uow:
            record = await uow.charges(tenant).get(request.charge_id)
            found = await uow.refunds(tenant).for_charge(request.charge_id)
        return payments_pb2.GetChargeResponse(
            charge=charge_message(record.charge), refunds=[refund_message(refund, reason) for refund, reason in found]
        )

    async def ListCharges(
        self, request: payments_pb2.ListChargesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.ListChargesResponse:
        tenant = require_tenant()
        if not request.customer_id:
            raise InvalidArgument.field("customer_id", "is required")
        size = page_size(request.page_size)
        query = [request.customer_id, request.subscription_id]
        after = decode_page_token(request.page_token, query)
        async with self._uow() as uow:
            records = await uow.charges(tenant).list_for_customer(
                request.customer_id, request.subscription_id, after, size + 1
            )
        page = records[:size]
        token = ""
        if len(records) > size:
            last = page[-1].charge
            token = encode_page_token([last.created_at.isoformat(), last.charge_id], query)
        return payments_pb2.ListChargesResponse(
            charges=[charge_message(record.charge) for record in page], next_page_token=token
        )

    async def RefundCharge(
        self, request: payments_pb2.RefundChargeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.RefundChargeResponse:
        tenant = require_tenant()
        command = refunds.RefundCharge(
            request_id=request.request_id,
            charge_id=request.charge_id,
            amount_minor=request.amount.amount_minor if request.HasField("amount") else None,
            currency=request.amount.currency_code,
            to_credit=request.to_credit,
            reason=request.reason,
        )
        async with self._uow() as uow:

            async def work() -> payments_pb2.RefundChargeResponse:
                refund, charge = await refunds.refund_charge(uow, tenant, self._psps, command)
                return payments_pb2.RefundChargeResponse(
                    refund=refund_message(refund, command.reason), charge=charge_message(charge)
                )

            return await run_once(uow, tenant, "RefundCharge", request, payments_pb2.RefundChargeResponse, work)

    async def VoidCharge(
        self, request: payments_pb2.VoidChargeRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.VoidChargeResponse:
        tenant = require_tenant()
        async with self._uow() as uow:

            async def work() -> payments_pb2.VoidChargeResponse:
                charge = await refunds.void_charge(uow, tenant, self._psps, request.charge_id)
                return payments_pb2.VoidChargeResponse(charge=charge_message(charge))

            return await run_once(uow, tenant, "VoidCharge", request, payments_pb2.VoidChargeResponse, work)

    async def GrantCredit(
        self, request: payments_pb2.GrantCreditRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.GrantCreditResponse:
        tenant = require_tenant()
        command = credits.GrantCredit(
            customer_id=request.customer_id,
            amount_minor=request.amount.amount_minor,
            currency=request.amount.currency_code,
            reason=request.reason,
            storefront_id=request.storefront_id,
            channel=_channel_name(request.channel),
            plan_id=request.plan_id,
        )
        async with self._uow() as uow:

            async def work() -> payments_pb2.GrantCreditResponse:
                balance = await credits.grant_credit(uow, tenant, command)
                return payments_pb2.GrantCreditResponse(balance=credit_balance_message(balance))

            return await run_once(uow, tenant, "GrantCredit", request, payments_pb2.GrantCreditResponse, work)

    async def GetCreditBalance(
        self, request: payments_pb2.GetCreditBalanceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.GetCreditBalanceResponse:
        tenant = require_tenant()
        async with self._uow() as uow:
            balance = await credits.credit_balance(uow, tenant, request.customer_id, request.currency_code)
        return payments_pb2.GetCreditBalanceResponse(balance=credit_balance_message(balance))

    async def GetRevenueReport(
        self, request: payments_pb2.GetRevenueReportRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.GetRevenueReportResponse:
        tenant = require_tenant()
        unknown = [d for d in request.group_by if d not in _GROUP_BY]
        if unknown:
            raise InvalidArgument.field("group_by", "holds an unspecified dimension")
        group_by = [_GROUP_BY[d] for d in request.group_by]
        async with self._uow() as uow:
            rows = await reports.revenue(uow, tenant, request.period_from, request.period_to, group_by)
        return payments_pb2.GetRevenueReportResponse(
            rows=[
                payments_pb2.RevenueRow(
                    period=row.period,
                    storefront_id=row.storefront_id,
                    channel=channel_value(row.channel),
                    plan_id=row.plan_id,
                    gross_sales=money(row.currency, row.gross_sales_minor),
                    discounts=money(row.currency, row.discounts_minor),
                    refunds=money(row.currency, row.refunds_minor),
                    net_revenue=money(row.currency, row.net_revenue_minor),
                    tax=money(row.currency, row.tax_minor),
                )
                for row in rows
            ]
        )

    async def GetLedgerBalance(
        self, request: payments_pb2.GetLedgerBalanceRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> payments_pb2.GetLedgerBalanceResponse:
        tenant = require_tenant()
        async with self._uow() as uow:
            balances = await reports.trial_balance(uow, tenant, request.currency_code)
        return payments_pb2.GetLedgerBalanceResponse(
            currencies=[
                payments_pb2.CurrencyTrialBalance(
                    currency_code=currency,
                    accounts=[
                        payments_pb2.AccountBalance(account=account, balance=money(currency, amount))
                        for account, amount in accounts.items()
                    ],
                    total_minor=sum(accounts.values()),
                )
                for currency, accounts in balances.items()
            ]
        )
