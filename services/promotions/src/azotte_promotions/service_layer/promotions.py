"""Create, read, list, update and move promotions through their states."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest
from azotte_promotions.domain.eligibility import Usage
from azotte_promotions.domain.promotion import Definition, Promotion, PromotionState
from azotte_promotions.errors import PromotionNotFound
from azotte_promotions.ports import PromotionQuery, PromotionsUnitOfWork

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class PromotionView:
    """A promotion with its usage, as the API shows it."""

    promotion: Promotion
    usage: Usage


async def create_promotion(
    uow: PromotionsUnitOfWork, tenant: str, definition: Definition, promotion_id: str = ""
) -> PromotionView:
    """A new draft promotion at version 1 (an id is generated when none is given)."""
    if promotion_id:
        check_id(promotion_id, "promotion.id")
    promotion = Promotion.create(tenant, promotion_id or f"promo_{secrets.token_hex(8)}", definition, uow.clock.now())
    await uow.promotions.add(promotion)
    uow.emit(tenant, *promotion.pull_events())
    return PromotionView(promotion, Usage())


def check_id(promotion_id: str, field: str) -> None:
    """INVALID_ARGUMENT naming `field` unless `promotion_id` is one a caller may choose."""
    if not _ID.match(promotion_id):
        raise InvalidArgument.field(field, "must be 1-64 letters, digits, '_' or '-', starting alphanumeric")


async def load(uow: PromotionsUnitOfWork, tenant: str, promotion_id: str, *, lock: bool = False) -> Promotion:
    """The promotion, or `PromotionNotFound` (also for another tenant's)."""
    if not promotion_id:
        raise InvalidArgument.field("promotion_id", "is required")
    promotion = await uow.promotions.get(tenant, promotion_id, for_update=lock)
    if promotion is None:
        raise PromotionNotFound(f"promotion {promotion_id!r} not found")
    return promotion


async def get_promotion(uow: PromotionsUnitOfWork, tenant: str, promotion_id: str) -> PromotionView:
    promotion = await load(uow, tenant, promotion_id)
    usage = await uow.promotions.usage(tenant, [promotion.id])
    return PromotionView(promotion, usage.get(promotion.id, Usage()))


async def list_promotions(
    uow: PromotionsUnitOfWork, tenant: str, page_request: PageRequest, query: PromotionQuery
) -> Page[PromotionView]:
    rows = await uow.promotions.find(tenant, page_request.limit, query=query, after=page_request.after)
    page = page_request.page(rows, lambda p: [_sort_value(p, query), p.id])
    usage = await uow.promotions.usage(tenant, [p.id for p in page.items])
    return Page([PromotionView(p, usage.get(p.id, Usage())) for p in page.items], page.next_page_token)


async def update_promotion(
    uow: PromotionsUnitOfWork,
    tenant: str,
    promotion_id: str,
    expected_version: int,
    change: Callable[[Definition], Definition],
    changed: tuple[str, ...],
) -> PromotionView:
    """Apply `change` to the definition, if the promotion is still at `expected_version`."""
    promotion = await load(uow, tenant, promotion_id, lock=True)
    promotion.update(change(promotion.definition), expected_version, changed, uow.clock.now())
    await uow.promotions.save(promotion, expected_version)
    uow.emit(tenant, *promotion.pull_events())
    return await _view(uow, tenant, promotion)


async def change_state(uow: PromotionsUnitOfWork, tenant: str, promotion_id: str, to: PromotionState) -> PromotionView:
    """Activate, pause or end a promotion (a repeat of the current state changes nothing)."""
    promotion = await load(uow, tenant, promotion_id, lock=True)
    version = promotion.version
    promotion.transition(to, uow.clock.now())
    if promotion.version != version:
        await uow.promotions.save(promotion, version)
        uow.emit(tenant, *promotion.pull_events())
    return await _view(uow, tenant, promotion)


async def _view(uow: PromotionsUnitOfWork, tenant: str, promotion: Promotion) -> PromotionView:
    usage = await uow.promotions.usage(tenant, [promotion.id])
    return PromotionView(promotion, usage.get(promotion.id, Usage()))


def _sort_value(promotion: Promotion, query: PromotionQuery) -> str:
    if query.order_by == "display_name":
        return promotion.definition.display_name
    moment = promotion.updated_at if query.order_by == "updated_at" else promotion.created_at
    assert moment is not None
    return moment.isoformat()
