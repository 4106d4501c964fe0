"""The App Store's history of a subscription lifecycle does not know: its transactions before a notification.

When a notification arrives for a subscription Azotte never saw (its SUBSCRIBED notification was missed), the
transaction history read with the app's in-app purchase key (App Store Server API, every transaction verified
under the app's root) stands for what was missed: the oldest transaction a purchase, each later one a renewal,
normalized exactly as the notifications would have been. Each event's id is its transaction's id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from azotte.lifecycle.v1 import lifecycle_pb2 as lc
from azotte_gateway.adapters.channels.app_store import AppStoreApps, AppStoreNormalizer
from azotte_gateway.adapters.channels.app_store_api import AppStoreServerApi
from azotte_gateway.domain.channels import InAppPurchaseKey, SealedServerApiKey, TrustedNotification
from azotte_platform import context
from azotte_platform.sealing import Keyring


def history_event_id(transaction: Mapping[str, Any]) -> str:
    """The lifecycle event id of a transaction read from the history (never a notification's UUID)."""
    return f"app_store_transaction:{transaction['transactionId']}"


def _purchased_at(transaction: Mapping[str, Any]) -> int:
    value = transaction.get("purchaseDate")
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True)
class AppStoreHistory:
    """Implements `ports.ChannelHistory` for the App Store over the Server API, with each app's sealed key."""

    apps: AppStoreApps
    keyring: Keyring
    api: AppStoreServerApi
    normalizer: AppStoreNormalizer

    async def missed_events(self, notification: TrustedNotification) -> Sequence[lc.ChannelEvent]:
        tenant_id = context.require_tenant()
        app = await self.apps.find(tenant_id, str(notification.payload.get("app_id", "")))
        transaction: Mapping[str, Any] = notification.payload.get("transaction", {})
        original = transaction.get("originalTransactionId")
        if app is None or app.server_api is None or not isinstance(original, str):
            return []
        pem = self.keyring.unseal(app.server_api.private_key, SealedServerApiKey.binding(tenant_id, app.app_id))
        key = InAppPurchaseKey(app.server_api.issuer_id, app.server_api.key_id, pem.decode())
        history = await self.api.transaction_history(app, key, original)
        before = _purchased_at(transaction)
        missed = [
            t
            for t in history
            if t.get("transactionId") != transaction.get("transactionId") and _purchased_at(t) < before
        ]
        events: list[lc.ChannelEvent] = []
        for index, past in enumerate(missed):
            notification_type, subtype = ("SUBSCRIBED", "INITIAL_BUY") if index == 0 else ("DID_RENEW", "")
            decoded = {"notificationType": notification_type, "subtype": subtype, "signedDate": past["purchaseDate"]}
            standing_in = TrustedNotification(
                history_event_id(past),
                {"notification": decoded, "transaction": past, "storefront_id": app.storefront_id},
            )
            events.extend(await self.normalizer.normalize(standing_in))
        return events
