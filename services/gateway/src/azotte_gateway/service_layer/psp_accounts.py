"""PspAccountsService: a tenant's own PSP accounts (payments seals and keeps them), and the PSPs' webhooks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from azotte.gateway.v1 import psp_accounts_pb2 as pa
from azotte.payments.v1 import disputes_pb2 as disputes
from azotte.payments.v1 import psp_accounts_pb2 as pay
from azotte_gateway.domain.permissions import Permission, authorize
from azotte_gateway.ports import Peers
from azotte_gateway.service_layer.auth import Caller
from azotte_gateway.service_layer.validation import require, require_mutation
from azotte_platform import context
from azotte_platform.errors import NotFound
from azotte_platform.events.envelope import TENANT_ID_PATTERN

# The ids an account can have: printable ASCII without spaces (they travel in gRPC metadata).
_ACCOUNT_ID = re.compile(r"^[!-~]{1,128}$")


@dataclass(frozen=True)
class PspAccounts:
    """Create/Get/List/RewrapPspAccount(s) and the dispute access policy for admins; `receive_psp_webhook` for the
    PSPs themselves."""

    peers: Peers

    async def create_psp_account(
        self, caller: Caller, request: pa.CreatePspAccountRequest
    ) -> pa.CreatePspAccountResponse:
        authorize(caller.principal, Permission.MANAGE_PSP_ACCOUNTS)
        require_mutation(request)
        answer = await self.peers.payments.CreatePspAccount(
            pay.CreatePspAccountRequest(
                request_id=request.request_id, account=request.account, credentials=request.credentials
            )
        )
        return pa.CreatePspAccountResponse(account=answer.account)

    async def get_psp_account(self, caller: Caller, request: pa.GetPspAccountRequest) -> pa.GetPspAccountResponse:
        authorize(caller.principal, Permission.MANAGE_PSP_ACCOUNTS)
        require(request, "account_id")
        answer = await self.peers.payments.GetPspAccount(pay.GetPspAccountRequest(account_id=request.account_id))
        return pa.GetPspAccountResponse(account=answer.account)

    async def list_psp_accounts(self, caller: Caller, request: pa.ListPspAccountsRequest) -> pa.ListPspAccountsResponse:
        authorize(caller.principal, Permission.MANAGE_PSP_ACCOUNTS)
        answer = await self.peers.payments.ListPspAccounts(pay.ListPspAccountsRequest())
        return pa.ListPspAccountsResponse(accounts=answer.accounts)

    async def rewrap_psp_accounts(
        self, caller: Caller, request: pa.RewrapPspAccountsRequest
    ) -> pa.RewrapPspAccountsResponse:
        authorize(caller.principal, Permission.MANAGE_PSP_ACCOUNTS)
        require_mutation(request)
        answer = await self.peers.payments.RewrapPspAccounts(
            pay.RewrapPspAccountsRequest(request_id=request.request_id)
        )
        return pa.RewrapPspAccountsResponse(rewrapped_count=answer.rewrapped_count)

    async def get_dispute_policy(
        self, caller: Caller, request: pa.GetDisputePolicyRequest
    ) -> pa.GetDisputePolicyResponse:
        authorize(caller.principal, Permission.MANAGE_PSP_ACCOUNTS)
        answer = await self.peers.payments.GetDisputePolicy(disputes.GetDisputePolicyRequest())
        return pa.GetDisputePolicyResponse(policy=answer.policy)

    async def update_dispute_policy(
        self, caller: Caller, request: pa.UpdateDisputePolicyRequest
    ) -> pa.UpdateDisputePolicyResponse:
        authorize(caller.principal, Permission.MANAGE_PSP_ACCOUNTS)
        require_mutation(request)
        answer = await self.peers.payments.UpdateDisputePolicy(
            disputes.UpdateDisputePolicyRequest(request_id=request.request_id, policy=request.policy)
        )
        return pa.UpdateDisputePolicyResponse(policy=answer.policy)

    async def receive_psp_webhook(
        self, tenant_id: str, account_id: str, payload: bytes, signature: str
    ) -> pay.ReceivePspWebhookResponse:
        """Hand a PSP's webhook to payments, which verifies it with the account's secret (Stripe's signing
        secret, Adyen's HMAC key)."""
        if not (TENANT_ID_PATTERN.fullmatch(tenant_id) and _ACCOUNT_ID.fullmatch(account_id)):
            # NOTE: no tenant or account can have such an id; it also never reaches gRPC metadata.
            raise NotFound(f"no PSP account {account_id!r} of tenant {tenant_id!r}")
        # NOTE: a webhook arrives outside any caller's call, so the tenant is entered here.
        with context.tenant_scope(tenant_id, f"psp:{account_id}"):
            answer: pay.ReceivePspWebhookResponse = await self.peers.payments.ReceivePspWebhook(
                pay.ReceivePspWebhookRequest(account_id=account_id, payload=payload, signature=signature)
            )
        return answer
