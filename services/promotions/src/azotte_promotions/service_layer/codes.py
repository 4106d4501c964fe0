"""Shared codes, batches of unique single-use codes, their export and revocation."""

from __future__ import annotations

import secrets
from datetime import datetime

from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest, decode_page_token, encode_page_token
from azotte_promotions.domain import codes
from azotte_promotions.domain.codes import CodeBatch, PromotionCode
from azotte_promotions.domain.promotion import PromotionState
from azotte_promotions.errors import CodeBatchNotFound, CodeNotFound, IllegalPromotionTransition
from azotte_promotions.ports import PromotionsUnitOfWork
from azotte_promotions.service_layer.promotions import load

DEFAULT_EXPORT_PAGE = 1_000
MAX_EXPORT_PAGE = 10_000
_GENERATION_ROUNDS = 5


async def create_code(
    uow: PromotionsUnitOfWork,
    tenant: str,
    promotion_id: str,
    code: str,
    *,
    max_redemptions: int | None = None,
    max_per_customer: int | None = None,
    expires_at: datetime | None = None,
) -> PromotionCode:
    """A shared code of a promotion that has not ended, with its own limits."""
    normalized = codes.shared_code(code)
    if max_redemptions is not None and max_redemptions < 1:
        raise InvalidArgument.field("max_redemptions", "must be at least 1")
    if max_per_customer is not None and max_per_customer < 1:
        raise InvalidArgument.field("max_per_customer", "must be at least 1")
    await _open_promotion(uow, tenant, promotion_id)
    new = PromotionCode(
        tenant,
        normalized,
        promotion_id,
        max_redemptions=max_redemptions,
        max_per_customer=max_per_customer,
        expires_at=expires_at,
        created_at=uow.clock.now(),
    )
    await uow.codes.add(new)
    return new


async def get_code(uow: PromotionsUnitOfWork, tenant: str, code: str) -> PromotionCode:
    if not code:
        raise InvalidArgument.field("code", "is required")
    found = await uow.codes.get(tenant, codes.normalize(code))
    if found is None:
        raise CodeNotFound(f"code {code!r} not found")
    return found


async def list_codes(
    uow: PromotionsUnitOfWork, tenant: str, promotion_id: str, page_request: PageRequest
) -> Page[PromotionCode]:
    await load(uow, tenant, promotion_id)
    after = page_request.after_key()
    rows = await uow.codes.find(tenant, promotion_id, page_request.limit, None if after is None else str(after))
    return page_request.page(rows, lambda c: [c.code])


async def revoke_code(uow: PromotionsUnitOfWork, tenant: str, code: str) -> PromotionCode:
    found = await get_code(uow, tenant, code)
    if not found.revoked:
        await uow.codes.revoke(tenant, found.code, uow.clock.now())
    return await get_code(uow, tenant, found.code)


async def create_batch(
    uow: PromotionsUnitOfWork,
    tenant: str,
    promotion_id: str,
    count: int,
    *,
    prefix: str = "",
    expires_at: datetime | None = None,
) -> CodeBatch:
    """`count` unique single-use codes from `secrets`, inserted in bulk; codes that collide are drawn again."""
    if not 1 <= count <= codes.MAX_BATCH:
        raise InvalidArgument.field("code_count", f"must be between 1 and {codes.MAX_BATCH}")
    prefix = codes.batch_prefix(prefix)
    await _open_promotion(uow, tenant, promotion_id)
    batch = CodeBatch(
        tenant,
        f"batch_{secrets.token_hex(8)}",
        promotion_id,
        count,
        prefix=prefix,
        expires_at=expires_at,
        created_at=uow.clock.now(),
    )
    missing = count
    for _ in range(_GENERATION_ROUNDS):
        # NOTE: with 59 bits per code a collision is rare; a code already taken is skipped and drawn again.
        missing -= await uow.codes.add_batch(batch, codes.generate(missing, prefix))
        if missing == 0:
            return batch
    raise InvalidArgument.field("prefix", "leaves too few free codes; use another prefix")


async def get_batch(uow: PromotionsUnitOfWork, tenant: str, batch_id: str) -> CodeBatch:
    if not batch_id:
        raise InvalidArgument.field("batch_id", "is required")
    batch = await uow.codes.get_batch(tenant, batch_id)
    if batch is None:
        raise CodeBatchNotFound(f"code batch {batch_id!r} not found")
    return batch


async def export_batch(
    uow: PromotionsUnitOfWork, tenant: str, batch_id: str, page_size: int, page_token: str
) -> Page[str]:
    """One page of a batch's codes, in code order."""
    if not page_size >= 0:
        raise InvalidArgument.field("page_size", "must not be negative")
    size = min(page_size or DEFAULT_EXPORT_PAGE, MAX_EXPORT_PAGE)
    query = ("code_batch", batch_id)
    after = decode_page_token(page_token, query)
    await get_batch(uow, tenant, batch_id)
    rows = await uow.codes.export(tenant, batch_id, size + 1, None if after is None else str(after[0]))
    token = encode_page_token([rows[size - 1]], query) if len(rows) > size else ""
    return Page(rows[:size], token)


async def revoke_batch(uow: PromotionsUnitOfWork, tenant: str, batch_id: str) -> CodeBatch:
    batch = await get_batch(uow, tenant, batch_id)
    if not batch.revoked:
        await uow.codes.revoke_batch(tenant, batch_id, uow.clock.now())
    return await get_batch(uow, tenant, batch_id)


async def _open_promotion(uow: PromotionsUnitOfWork, tenant: str, promotion_id: str) -> None:
    promotion = await load(uow, tenant, promotion_id)
    if promotion.state is PromotionState.ENDED:
        raise IllegalPromotionTransition(
            f"promotion {promotion_id!r} has ended: it gets no new codes", metadata={"state": promotion.state.value}
        )
