"""Store-billed sales: a period a store (App Store, Google Play) collected, booked as revenue net of its commission.

A partner-billed period is booked the same way on the partner channel: the partner's part of it (from its
wholesale terms, given with the sale) stands for the store's commission.

NOTE: a store's price is what the subscriber paid it, tax included at the storefront's rate; the store keeps its
commission on the price net of tax (Apple's and Google's rule) and owes the tenant the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from azotte_payments.domain.ledger import Account, Dimensions, EntryKind, JournalEntry, Posting, Side, accounting_period
from azotte_payments.domain.storefront import StorefrontTerms
from azotte_payments.errors import CurrencyMismatch
from azotte_platform.errors import InvalidArgument
from azotte_platform.tax import TaxBreakdown, TaxMode, TaxPolicy, tax_for_line

STORE_CHANNELS = frozenset({"CHANNEL_APP_STORE", "CHANNEL_GOOGLE_PLAY"})
PARTNER_CHANNEL = "CHANNEL_PARTNER"


@dataclass(frozen=True)
class StoreSaleRequest:
    """What a store reported collecting for one period of a subscription."""

    sale_id: str
    customer_id: str
    subscription_id: str
    storefront_id: str
    channel: str
    plan_id: str
    currency: str
    price_minor: int
    occurred_at: datetime | None
    # The partner's part of the net (PARTNER only); a store's rate is the storefront's.
    commission_rate: Decimal | None = None

    def validate(self) -> None:
        """Field checks that need no storefront."""
        for name in ("sale_id", "customer_id", "storefront_id", "plan_id"):
            if not getattr(self, name):
                raise InvalidArgument.field(name, "is required")
        if self.channel not in STORE_CHANNELS | {PARTNER_CHANNEL}:
            raise InvalidArgument.field(
                "channel", "must be a seller that collects its price (APP_STORE, GOOGLE_PLAY, PARTNER)"
            )
        if self.channel == PARTNER_CHANNEL:
            if self.commission_rate is None or not Decimal(0) <= self.commission_rate <= Decimal(1):
                raise InvalidArgument.field("commission_rate", "must be a decimal from 0 to 1 for a partner's sale")
        elif self.commission_rate is not None:
            raise InvalidArgument.field("commission_rate", "is the storefront's for a store: leave it empty")
        if self.price_minor <= 0:
            raise InvalidArgument.field("price.amount_minor", "must be positive")


@dataclass(frozen=True)
class StoreSale:
    """A store sale as booked: price, tax and net, and the store's commission on the net."""

    request: StoreSaleRequest
    amounts: TaxBreakdown
    commission_rate: Decimal
    commission_minor: int
    occurred_at: datetime

    @property
    def proceeds_minor(self) -> int:
        """What the store pays out: the price minus its commission."""
        return self.amounts.gross_minor - self.commission_minor

    @classmethod
    def book(cls, request: StoreSaleRequest, terms: StorefrontTerms, now: datetime) -> StoreSale:
        """Tax at the storefront's rate (included in the price) and the channel's commission (a partner's own)."""
        request.validate()
        if request.currency != terms.currency:
            raise CurrencyMismatch.field(
                "price.currency_code", f"{request.currency} does not match the storefront currency {terms.currency}"
            )
        policy = TaxPolicy(TaxMode.INCLUSIVE, terms.tax_policy.rate, terms.tax_policy.country_code)
        amounts = tax_for_line(request.price_minor, policy)
        rate = request.commission_rate
        if rate is None:
            rate = terms.store_commission.get(request.channel, Decimal(0))
        commission = int((amounts.net_minor * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        return cls(request, amounts, rate, commission, request.occurred_at or now)

    def entry(self, tenant_id: str, entry_id: str) -> JournalEntry:
        """Store receivable (proceeds) + store commission = gross sales (net) + tax payable."""
        request = self.request
        lines = (
            (Account.STORE_RECEIVABLE, Side.DEBIT, self.proceeds_minor),
            (Account.STORE_COMMISSION, Side.DEBIT, self.commission_minor),
            (Account.GROSS_SALES, Side.CREDIT, self.amounts.net_minor),
            (Account.TAX_PAYABLE, Side.CREDIT, self.amounts.tax_minor),
        )
        postings = tuple(Posting(account, side, amount) for account, side, amount in lines if amount > 0)
        period = accounting_period(self.occurred_at)
        dimensions = Dimensions(request.storefront_id, request.channel, request.plan_id, period)
        return JournalEntry(
            entry_id,
            tenant_id,
            EntryKind.STORE_SALE,
            request.sale_id,
            request.currency,
            dimensions,
            self.occurred_at,
            postings,
        )
