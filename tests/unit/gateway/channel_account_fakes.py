"""In-memory Google Play apps, partners and partners' request ids (`ports.ChannelAccountRepository`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from azotte_gateway.domain.channel_accounts import GooglePlayApp, Partner


@dataclass
class ChannelAccountData:
    google_play_apps: dict[tuple[str, str], GooglePlayApp] = field(default_factory=dict)
    partners: dict[tuple[str, str], Partner] = field(default_factory=dict)
    request_ids: dict[tuple[str, str, str], datetime] = field(default_factory=dict)


class FakeChannelAccountRepository:
    def __init__(self, data: ChannelAccountData):
        self._data = data

    async def add_google_play_app(self, app: GooglePlayApp) -> bool:
        return self._data.google_play_apps.setdefault((app.tenant_id, app.app_id), app) is app

    async def google_play_app(self, tenant_id: str, app_id: str) -> GooglePlayApp | None:
        return self._data.google_play_apps.get((tenant_id, app_id))

    async def google_play_apps(self, tenant_id: str) -> list[GooglePlayApp]:
        return sorted(
            (a for (t, _), a in self._data.google_play_apps.items() if t == tenant_id), key=lambda a: a.app_id
        )

    async def add_partner(self, partner: Partner) -> bool:
        return self._data.partners.setdefault((partner.tenant_id, partner.partner_id), partner) is partner

    async def partner(self, tenant_id: str, partner_id: str) -> Partner | None:
        return self._data.partners.get((tenant_id, partner_id))

    async def partners(self, tenant_id: str) -> list[Partner]:
        found = (p for (t, _), p in self._data.partners.items() if t == tenant_id)
        return sorted(found, key=lambda p: p.partner_id)

    async def claim_partner_request(
        self, tenant_id: str, partner_id: str, jti: str, now: datetime, forget_before: datetime
    ) -> bool:
        for key, seen in list(self._data.request_ids.items()):
            if key[:2] == (tenant_id, partner_id) and seen < forget_before:
                del self._data.request_ids[key]
        return self._data.request_ids.setdefault((tenant_id, partner_id, jti), now) is now
