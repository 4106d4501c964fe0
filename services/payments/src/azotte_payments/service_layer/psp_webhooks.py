"""A PSP's webhook for one of a tenant's accounts: verified with the account's own secret, applied once per event."""

from __future__ import annotations

from azotte_payments.domain.psp_account import sealing_binding
from azotte_payments.ports import (
    CredentialSealer,
    PaymentsUnitOfWork,
    PspWebhookEvent,
    PspWebhookVerifier,
    TenantPsps,
)
from azotte_payments.service_layer.psp_notices import apply_notice


async def receive_psp_webhook(
    uow: PaymentsUnitOfWork,
    sealer: CredentialSealer,
    verifier: PspWebhookVerifier,
    psps: TenantPsps,
    tenant_id: str,
    account_id: str,
    payload: bytes,
    signature: str,
) -> tuple[PspWebhookEvent, bool]:
    """(the verified event, whether it was already received); the caller commits."""
    accounts = uow.psp_accounts(tenant_id)
    account = await accounts.get(account_id)
    credentials = sealer.unseal(account.sealed, sealing_binding(tenant_id, account_id))
    event = verifier.verify(account.kind, credentials, payload, signature)
    # NOTE: PSPs deliver at least once; the event id makes a redelivery a no-op.
    fresh = await accounts.claim_webhook_event(account_id, event.event_id, event.event_type, uow.clock.now())
    if fresh and event.notice is not None:
        await apply_notice(uow, psps, tenant_id, account_id, event.notice)
    return event, not fresh
