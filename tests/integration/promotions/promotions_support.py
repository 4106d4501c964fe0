"""Builders of promotions requests shared by the integration tests."""

from __future__ import annotations

import uuid
from typing import Any

import grpc

from azotte.common.v1 import channel_pb2
from azotte.common.v1.money_pb2 import Money
from azotte.promotions.v1 import promotions_pb2 as pb
from azotte_platform.errors import AzotteError
from azotte_platform.grpc.status import from_rpc_error


def rid() -> str:
    return uuid.uuid4().hex


def percent_off(bp: int = 5_000, **fields: Any) -> pb.Promotion:
    """A promotion of `bp` basis points off, once (keywords set other Promotion fields)."""
    fields.setdefault("display_name", "Premiere")
    return pb.Promotion(discount=pb.Discount(kind=pb.DISCOUNT_KIND_PERCENT_OFF, percent_basis_points=bp), **fields)


def amount_off(currency: str, amount_minor: int, **fields: Any) -> pb.Promotion:
    fields.setdefault("display_name", "Flat")
    return pb.Promotion(
        discount=pb.Discount(
            kind=pb.DISCOUNT_KIND_AMOUNT_OFF, amounts=[Money(currency_code=currency, amount_minor=amount_minor)]
        ),
        **fields,
    )


def checkout(customer: str = "cus-1", amount: int = 1_000, currency: str = "USD", **fields: Any) -> pb.Checkout:
    return pb.Checkout(
        customer_id=customer,
        plan_id=fields.pop("plan_id", "premium"),
        product_line=fields.pop("product_line", "video"),
        storefront_id=fields.pop("storefront_id", "us"),
        country_code=fields.pop("country_code", "US"),
        channel=fields.pop("channel", channel_pb2.CHANNEL_WEB),
        amount=Money(currency_code=currency, amount_minor=amount),
        customer=fields.pop("facts", None),
        **fields,
    )


async def active_promotion(service: Any, promotion: pb.Promotion) -> pb.Promotion:
    """Create `promotion` and activate it."""
    created = await service.stub.CreatePromotion(
        pb.CreatePromotionRequest(request_id=rid(), promotion=promotion), metadata=service.metadata
    )
    activated = await service.stub.ActivatePromotion(
        pb.ActivatePromotionRequest(request_id=rid(), promotion_id=created.promotion.id), metadata=service.metadata
    )
    result: pb.Promotion = activated.promotion
    return result


async def shared_code(service: Any, promotion_id: str, code: str, **limits: Any) -> pb.PromotionCode:
    response = await service.stub.CreatePromotionCode(
        pb.CreatePromotionCodeRequest(request_id=rid(), promotion_id=promotion_id, code=code, **limits),
        metadata=service.metadata,
    )
    result: pb.PromotionCode = response.code
    return result


async def failure(call: Any) -> AzotteError:
    """The typed error a call ended with (it must fail)."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return from_rpc_error(error)
    raise AssertionError("the call succeeded")
