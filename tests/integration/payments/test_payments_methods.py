"""Payment methods: tokens only, one default per customer, expiry."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from azotte.payments.v1 import payments_pb2 as P
from tests.integration.payments.payments_harness import Payments


def _add(customer: str, token: str, **fields) -> P.CreatePaymentMethodRequest:
    return P.CreatePaymentMethodRequest(
        request_id=uuid.uuid4().hex, customer_id=customer, type=P.PAYMENT_METHOD_TYPE_CARD, token=token, **fields
    )


async def test_card_numbers_are_refused(payments: Payments, tenant: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await payments.call(tenant, "CreatePaymentMethod", _add("cus_1", "4242 4242 4242 4242"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "token" in (error.value.details() or "")


async def test_default_moves_and_charges_use_it(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant, "tok_insufficient_funds")
    added = await payments.call(tenant, "CreatePaymentMethod", _add(customer, "tok_success", make_default=True))
    listed = await payments.call(tenant, "ListPaymentMethods", P.ListPaymentMethodsRequest(customer_id=customer))
    assert [m.is_default for m in listed.payment_methods] == [False, True]
    charge = await payments.charge(tenant, customer)
    assert charge.status == P.CHARGE_STATUS_SUCCEEDED and charge.payment_method_id == added.payment_method.id
    deleted = await payments.call(
        tenant,
        "DeletePaymentMethod",
        P.DeletePaymentMethodRequest(
            request_id=uuid.uuid4().hex, customer_id=customer, payment_method_id=added.payment_method.id
        ),
    )
    assert deleted.default_payment_method.token == "tok_insufficient_funds"


async def test_expired_method_is_not_charged(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant, exp=(1, 2026))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await payments.charge(tenant, customer)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "expired" in (error.value.details() or "")


async def test_two_deletes_at_once_keeping_the_last_method_leave_one(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    await payments.call(tenant, "CreatePaymentMethod", _add(customer, "tok_other"))
    listed = await payments.call(tenant, "ListPaymentMethods", P.ListPaymentMethodsRequest(customer_id=customer))

    async def delete(method_id: str) -> grpc.StatusCode:
        request = P.DeletePaymentMethodRequest(
            request_id=uuid.uuid4().hex, customer_id=customer, payment_method_id=method_id, keep_last=True
        )
        try:
            await payments.call(tenant, "DeletePaymentMethod", request)
        except grpc.aio.AioRpcError as error:
            return error.code()
        return grpc.StatusCode.OK

    codes = await asyncio.gather(*(delete(m.id) for m in listed.payment_methods))
    assert sorted(c.name for c in codes) == ["FAILED_PRECONDITION", "OK"]
    left = await payments.call(tenant, "ListPaymentMethods", P.ListPaymentMethodsRequest(customer_id=customer))
    assert len(left.payment_methods) == 1


async def test_methods_are_listed_of_one_type_newest_first_by_keyset_pages(payments: Payments, tenant: str) -> None:
    customer = await payments.add_customer(tenant)
    paypal = _add(customer, "tok_success")
    paypal.type = P.PAYMENT_METHOD_TYPE_PAYPAL
    await payments.call(tenant, "CreatePaymentMethod", paypal)
    await payments.call(tenant, "CreatePaymentMethod", _add(customer, "tok_other"))
    everything = await payments.call(tenant, "ListPaymentMethods", P.ListPaymentMethodsRequest(customer_id=customer))
    ids = [m.id for m in everything.payment_methods]
    assert len(ids) == 3

    async def listed(**fields) -> tuple[list[str], str]:
        request = P.ListPaymentMethodsRequest(customer_id=customer, **fields)
        answer = await payments.call(tenant, "ListPaymentMethods", request)
        return [m.id for m in answer.payment_methods], answer.next_page_token

    assert (await listed(type=P.PAYMENT_METHOD_TYPE_CARD))[0] == [ids[0], ids[2]]
    assert (await listed(is_default=True))[0] == [ids[0]]
    first, token = await listed(newest_first=True, page_size=2)
    assert first == [ids[2], ids[1]]
    assert await listed(newest_first=True, page_size=2, page_token=token) == ([ids[0]], "")
