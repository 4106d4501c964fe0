"""RecordStoreSale: a period a store collected, booked once (by the store's sale id) net of its commission."""

from __future__ import annotations

from azotte_payments.domain.store_sales import StoreSale, StoreSaleRequest
from azotte_payments.ports import PaymentsUnitOfWork, StorefrontCatalog
from azotte_payments.service_layer.effects import new_id, post_entry


async def record_store_sale(
    uow: PaymentsUnitOfWork, storefronts: StorefrontCatalog, tenant_id: str, request: StoreSaleRequest
) -> StoreSale:
    """Book the sale in the ledger (revenue.recorded with its commission); a sale already booked is not again."""
    request.validate()
    terms = await storefronts.terms(tenant_id, request.storefront_id)
    sale = StoreSale.book(request, terms, uow.clock.now())
    # NOTE: the journal keeps one entry per (kind, source): a store's redelivered sale is booked once.
    await post_entry(uow, tenant_id, sale.entry(tenant_id, new_id("je")))
    return sale
