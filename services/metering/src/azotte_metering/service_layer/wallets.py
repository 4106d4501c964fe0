"""Wallets: credit granted by an admin or a promotion, bought as a top-up or an auto-recharge, burned by usage.

Every change to a wallet first locks the customer's current usage period (`periods.lock_current_period`), so
grants, burns and recharges of one customer apply one after the other, on every replica.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from azotte_metering.billing_ports import (
    BillingUnitOfWork,
    ChargeAnswer,
    MovementEntry,
    Payments,
    Recharge,
    RechargeState,
    WalletChange,
)
from azotte_metering.domain.billing_events import CreditGranted, WalletRechargeFailed
from azotte_metering.domain.pricing import CURRENCY
from azotte_metering.domain.wallets import AutoRecharge, CreditGrant, GrantSource, Wallet, expire
from azotte_metering.errors import TopUpDeclined, TopUpPending, WalletNotFound
from azotte_metering.service_layer.limits import evaluate_limits
from azotte_metering.service_layer.periods import lock_current_period
from azotte_platform.errors import InvalidArgument
from azotte_platform.paging import Page, PageRequest


def require_wallet_key(customer_id: str, currency_code: str, currency_field: str = "currency_code") -> None:
    if not customer_id:
        raise InvalidArgument.field("customer_id", "is required")
    if not CURRENCY.match(currency_code):
        raise InvalidArgument.field(currency_field, "must be an ISO 4217 code such as USD")


async def _locked_wallet(
    uow: BillingUnitOfWork, tenant_id: str, customer_id: str, currency_code: str, storefront_id: str = ""
) -> Wallet:
    """The customer's wallet in the currency (new if none), after locking their current period."""
    account, _ = await lock_current_period(uow, tenant_id, customer_id, uow.clock.now())
    wallet = await uow.wallets.get(tenant_id, customer_id, currency_code)
    if wallet is not None:
        return wallet
    storefront = storefront_id or (account.storefront_id if account is not None else "")
    return Wallet(customer_id, currency_code, storefront)


async def grant_credit(
    uow: BillingUnitOfWork,
    tenant_id: str,
    customer_id: str,
    currency_code: str,
    amount_minor: int,
    source: GrantSource,
    *,
    grant_id: str = "",
    priority: int = 0,
    expires_at: datetime | None = None,
    storefront_id: str = "",
    reference: str = "",
) -> tuple[CreditGrant, Wallet]:
    """Put credit in the customer's wallet (created on first credit); a limit waiting for credit is released."""
    require_wallet_key(customer_id, currency_code, "amount.currency_code")
    now = uow.clock.now()
    wallet = await _locked_wallet(uow, tenant_id, customer_id, currency_code, storefront_id)
    grant, movement = wallet.grant(
        grant_id or f"grant_{uuid.uuid4().hex}",
        amount_minor,
        source,
        now,
        priority=priority,
        expires_at=expires_at,
        reference=reference,
    )
    balance = wallet.balance(now)
    await uow.wallets.save(tenant_id, [WalletChange(wallet, [movement], balance)], now)
    uow.emit(tenant_id, CreditGranted(customer_id, currency_code, grant, balance))
    await evaluate_limits(uow, tenant_id, customer_id, now)
    return grant, wallet


async def top_up(
    uow: BillingUnitOfWork,
    payments: Payments,
    tenant_id: str,
    request_id: str,
    customer_id: str,
    currency_code: str,
    amount_minor: int,
    *,
    payment_method_id: str = "",
    storefront_id: str = "",
) -> tuple[CreditGrant, Wallet, str]:
    """Buy credit: charge it through payments (once per request id), then grant it; the charge's id too.

    NOTE: the charge's idempotency key is the request's id, so a retry after a failure anywhere (before or
    after the charge) gets the same charge back and grants its credit once.
    """
    require_wallet_key(customer_id, currency_code, "amount.currency_code")
    if not amount_minor > 0:
        raise InvalidArgument.field("amount.amount_minor", "must be positive")
    wallet = await uow.wallets.get(tenant_id, customer_id, currency_code)
    account = await uow.usage.account(tenant_id, customer_id)
    storefront = storefront_id or (wallet.storefront_id if wallet is not None else "")
    storefront = storefront or (account.storefront_id if account is not None else "")
    if not storefront:
        raise InvalidArgument.field(
            "storefront_id", "is required: the customer has no wallet or subscription to take it from"
        )
    answer = await payments.charge(
        idempotency_key=f"wallet-top-up:{request_id}",
        customer_id=customer_id,
        storefront_id=storefront,
        currency_code=currency_code,
        amount_minor=amount_minor,
        description=f"Prepaid credit, {currency_code}",
        payment_method_id=payment_method_id,
    )
    _require_paid(answer)
    grant, wallet = await grant_credit(
        uow,
        tenant_id,
        customer_id,
        currency_code,
        amount_minor,
        GrantSource.PURCHASE,
        grant_id=f"top-up:{request_id}",
        storefront_id=storefront,
        reference=answer.charge_id,
    )
    return grant, wallet, answer.charge_id


def _require_paid(answer: ChargeAnswer) -> None:
    if answer.failed:
        raise TopUpDeclined(f"the top-up's charge {answer.charge_id} failed: {answer.failure or 'declined'}")
    if not answer.succeeded:
        raise TopUpPending(f"the top-up's charge {answer.charge_id} has not completed yet; retry with the same id")


async def set_auto_recharge(
    uow: BillingUnitOfWork,
    tenant_id: str,
    customer_id: str,
    currency_code: str,
    rule: AutoRecharge | None,
    storefront_id: str = "",
) -> Wallet:
    """Turn auto-recharge on (or off with None): below the threshold, buy the amount with the default method."""
    require_wallet_key(customer_id, currency_code)
    wallet = await _locked_wallet(uow, tenant_id, customer_id, currency_code, storefront_id)
    if rule is not None and not wallet.storefront_id:
        raise InvalidArgument.field("storefront_id", "is required to charge recharges (no subscription gives it)")
    wallet.auto_recharge = rule
    await uow.wallets.save(tenant_id, [WalletChange(wallet)], uow.clock.now())
    return wallet


async def get_wallet(uow: BillingUnitOfWork, tenant_id: str, customer_id: str, currency_code: str) -> Wallet:
    require_wallet_key(customer_id, currency_code)
    wallet = await uow.wallets.get(tenant_id, customer_id, currency_code)
    if wallet is None:
        raise WalletNotFound(f"customer {customer_id!r} has no {currency_code} wallet")
    return wallet


async def list_movements(
    uow: BillingUnitOfWork, tenant_id: str, customer_id: str, currency_code: str, page: PageRequest
) -> Page[MovementEntry]:
    """A wallet's history, newest first (an unknown wallet has none)."""
    require_wallet_key(customer_id, currency_code)
    before = page.after_key()
    entries = await uow.wallets.movements(tenant_id, customer_id, currency_code, page.limit, before)
    return page.page(entries, lambda entry: [entry.seq])


@dataclass(frozen=True, slots=True)
class UsagePaid:
    """What paying usage from a wallet did: the credit it covered (minor units), whether it started an
    auto-recharge, and the wallet's change for the caller to save."""

    covered_minor: int
    recharging: bool
    change: WalletChange


async def burn_usage(
    uow: BillingUnitOfWork, tenant_id: str, wallet: Wallet, amount_minor: int, reference: str
) -> UsagePaid:
    """Pay rated usage from the customer's wallet in its currency as it arrives, the wallet updated in place; an
    auto-recharge it starts (crossing below its threshold) is written, its charge runs after the commit. The
    caller holds the period lock, read the wallet under it, and saves the change.
    """
    now = uow.clock.now()
    before = wallet.balance(now)
    emptied, expired = expire(wallet.grants, now)
    by_id = {grant.grant_id: grant for grant in emptied}
    wallet.grants = [by_id.get(grant.grant_id, grant) for grant in wallet.grants]
    burn = wallet.burn(amount_minor, now, reference)
    after = wallet.balance(now)
    recharging = wallet.needs_recharge(before, after)
    if recharging:
        assert wallet.auto_recharge is not None
        recharge = Recharge(
            tenant_id,
            wallet.start_recharge(),
            wallet.customer_id,
            wallet.currency_code,
            wallet.storefront_id,
            wallet.auto_recharge.amount_minor,
        )
        await uow.wallets.add_recharge(recharge, now)
    change = WalletChange(wallet, [*expired, *burn.movements], after)
    return UsagePaid(amount_minor - burn.uncovered_minor, recharging, change)


async def complete_recharge(uow: BillingUnitOfWork, recharge: Recharge, answer: ChargeAnswer) -> Recharge:
    """Settle an auto-recharge with its charge's answer: credit granted once on success; failure announced.

    NOTE: the recharge is locked and must still be pending, so two replicas settling it grant it once.
    """
    tenant_id = recharge.tenant_id
    now = uow.clock.now()
    current = await uow.wallets.lock_recharge(tenant_id, recharge.recharge_id)
    if current is None or current.state is not RechargeState.PENDING:
        return current or recharge
    if answer.succeeded:
        await grant_credit(
            uow,
            tenant_id,
            recharge.customer_id,
            recharge.currency_code,
            recharge.amount_minor,
            GrantSource.PURCHASE,
            grant_id=recharge.recharge_id,
            reference=answer.charge_id,
        )
        settled = replace(recharge, state=RechargeState.SUCCEEDED, charge_id=answer.charge_id)
    elif answer.failed:
        settled = replace(recharge, state=RechargeState.FAILED, charge_id=answer.charge_id, failure=answer.failure)
        uow.emit(
            tenant_id,
            WalletRechargeFailed(
                recharge.customer_id,
                recharge.currency_code,
                recharge.recharge_id,
                recharge.amount_minor,
                answer.failure,
            ),
        )
    else:
        return recharge
    await uow.wallets.save_recharge(settled, now)
    return settled
