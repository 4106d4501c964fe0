"""Payment method use cases through the servicer over fakes: once per request id, default, keyset pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from azotte.payments.v1 import payments_pb2 as P
from azotte_payments import errors
from azotte_platform.context import tenant_scope
from azotte_platform.errors import InvalidArgument, LastPaymentMethod
from tests.unit.payments.fakes import TENANT, FakePayments

NO_CONTEXT: Any = None


@pytest.fixture
def payments() -> FakePayments:
    return FakePayments.build()


def card(request_id: str, token: str = "tok_success") -> P.CreatePaymentMethodRequest:
    return P.CreatePaymentMethodRequest(
        request_id=request_id, customer_id="cus_1", type=P.PAYMENT_METHOD_TYPE_CARD, token=token, last4="4242"
    )


async def test_methods_are_stored_once_per_request_id_and_listed_oldest_first_by_pages(payments: FakePayments) -> None:
    servicer = payments.servicer
    with tenant_scope(TENANT):
        first = await servicer.CreatePaymentMethod(card("r1"), NO_CONTEXT)
        assert await servicer.CreatePaymentMethod(card("r1"), NO_CONTEXT) == first
        payments.state.clock.advance(timedelta(seconds=1))
        second = await servicer.CreatePaymentMethod(card("r2", "tok_other"), NO_CONTEXT)
        page = await servicer.ListPaymentMethods(
            P.ListPaymentMethodsRequest(customer_id="cus_1", page_size=1), NO_CONTEXT
        )
        rest = await servicer.ListPaymentMethods(
            P.ListPaymentMethodsRequest(customer_id="cus_1", page_size=1, page_token=page.next_page_token), NO_CONTEXT
        )
        with pytest.raises(InvalidArgument) as error:
            await servicer.ListPaymentMethods(
                P.ListPaymentMethodsRequest(customer_id="cus_2", page_token=page.next_page_token), NO_CONTEXT
            )
    assert first.payment_method.is_default and not second.payment_method.is_default
    assert [m.id for m in page.payment_methods] == [first.payment_method.id]
    assert ([m.id for m in rest.payment_methods], rest.next_page_token) == ([second.payment_method.id], "")
    assert error.value.violations[0].field == "page_token"
    assert len(payments.state.methods) == 2


async def test_deleting_the_default_passes_it_to_the_newest_method(payments: FakePayments) -> None:
    servicer = payments.servicer
    with tenant_scope(TENANT):
        first = await servicer.CreatePaymentMethod(card("r1"), NO_CONTEXT)
        payments.state.clock.advance(timedelta(seconds=1))
        second = await servicer.CreatePaymentMethod(card("r2"), NO_CONTEXT)
        deleted = await servicer.DeletePaymentMethod(
            P.DeletePaymentMethodRequest(
                request_id="r3", customer_id="cus_1", payment_method_id=first.payment_method.id
            ),
            NO_CONTEXT,
        )
        with pytest.raises(errors.PaymentMethodNotFound):
            await servicer.SetDefaultPaymentMethod(
                P.SetDefaultPaymentMethodRequest(
                    request_id="r4", customer_id="cus_1", payment_method_id=first.payment_method.id
                ),
                NO_CONTEXT,
            )
    assert deleted.default_payment_method.id == second.payment_method.id
    assert deleted.default_payment_method.is_default


async def test_a_card_number_is_refused_as_a_token(payments: FakePayments) -> None:
    with tenant_scope(TENANT), pytest.raises(errors.PanNotAllowed) as error:
        await payments.servicer.CreatePaymentMethod(card("r1", "4242 4242 4242 4242"), NO_CONTEXT)
    assert error.value.violations[0].field == "token"
    assert payments.state.methods == {}


async def test_a_delete_asked_to_keep_the_last_method_refuses_only_the_last(payments: FakePayments) -> None:
    servicer = payments.servicer
    with tenant_scope(TENANT):
        first = (await servicer.CreatePaymentMethod(card("r1"), NO_CONTEXT)).payment_method
        second = (await servicer.CreatePaymentMethod(card("r2", "tok_other"), NO_CONTEXT)).payment_method

        def delete(request_id: str, method_id: str) -> P.DeletePaymentMethodRequest:
            return P.DeletePaymentMethodRequest(
                request_id=request_id, customer_id="cus_1", payment_method_id=method_id, keep_last=True
            )

        left = await servicer.DeletePaymentMethod(delete("d1", first.id), NO_CONTEXT)
        assert left.default_payment_method.id == second.id
        with pytest.raises(LastPaymentMethod):
            await servicer.DeletePaymentMethod(delete("d2", second.id), NO_CONTEXT)
        listed = await servicer.ListPaymentMethods(P.ListPaymentMethodsRequest(customer_id="cus_1"), NO_CONTEXT)
        assert [m.id for m in listed.payment_methods] == [second.id]


async def test_methods_are_listed_of_one_type_or_default_only_and_newest_first(payments: FakePayments) -> None:
    servicer = payments.servicer
    with tenant_scope(TENANT):
        ids = []
        for n, kind in enumerate(
            [P.PAYMENT_METHOD_TYPE_CARD, P.PAYMENT_METHOD_TYPE_PAYPAL, P.PAYMENT_METHOD_TYPE_CARD]
        ):
            request = card(f"r{n}", f"tok_{n}")
            request.type = kind
            ids.append((await servicer.CreatePaymentMethod(request, NO_CONTEXT)).payment_method.id)
            payments.state.clock.advance(timedelta(seconds=1))

        async def listed(**fields: Any) -> tuple[list[str], str]:
            answer = await servicer.ListPaymentMethods(
                P.ListPaymentMethodsRequest(customer_id="cus_1", **fields), NO_CONTEXT
            )
            return [m.id for m in answer.payment_methods], answer.next_page_token

        assert await listed(type=P.PAYMENT_METHOD_TYPE_CARD) == ([ids[0], ids[2]], "")
        assert await listed(is_default=True) == ([ids[0]], "")
        assert await listed(is_default=False, type=P.PAYMENT_METHOD_TYPE_CARD) == ([ids[2]], "")
        newest, token = await listed(newest_first=True, page_size=2)
        assert newest == [ids[2], ids[1]]
        assert await listed(newest_first=True, page_size=2, page_token=token) == ([ids[0]], "")
        with pytest.raises(InvalidArgument) as error:
            await listed(page_size=2, page_token=token)
    assert error.value.violations[0].field == "page_token"
