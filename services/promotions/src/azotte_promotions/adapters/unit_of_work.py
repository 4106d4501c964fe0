"""The promotions unit of work on PostgreSQL: repositories and the ledger over one transaction, events to the outbox."""

from __future__ import annotations

from typing import Self

from sqlalchemy.ext.asyncio import AsyncEngine

from azotte_platform.clock import Clock
from azotte_platform.db.unit_of_work import ToEvent, UnitOfWork
from azotte_platform.sealing import Keyring
from azotte_promotions.adapters.repositories.campaigns import PostgresCampaignRepository
from azotte_promotions.adapters.repositories.codes import PostgresCodeRepository
from azotte_promotions.adapters.repositories.experiments import PostgresExperimentRepository
from azotte_promotions.adapters.repositories.ledger import PostgresLimitLedger
from azotte_promotions.adapters.repositories.promotions import PostgresPromotionRepository
from azotte_promotions.adapters.repositories.redemptions import PostgresRedemptionRepository
from azotte_promotions.adapters.repositories.referrals import PostgresReferralRepository
from azotte_promotions.adapters.repositories.store_offers import PostgresSubscriptionKeyRepository
from azotte_promotions.adapters.repositories.trials import PostgresTrialRepository


class PostgresPromotionsUnitOfWork(UnitOfWork):
    """`ports.PromotionsUnitOfWork`: `async with uow:` then its repositories and ledger, `commit()`; `keyring` seals
    the tenants' App Store subscription keys."""

    promotions: PostgresPromotionRepository
    codes: PostgresCodeRepository
    ledger: PostgresLimitLedger
    redemptions: PostgresRedemptionRepository
    trials: PostgresTrialRepository
    referrals: PostgresReferralRepository
    campaigns: PostgresCampaignRepository
    experiments: PostgresExperimentRepository
    subscription_keys: PostgresSubscriptionKeyRepository

    def __init__(self, engine: AsyncEngine, service: str, clock: Clock, to_event: ToEvent, *, keyring: Keyring):
        super().__init__(engine, service, clock, to_event)
        self._keyring = keyring

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.promotions = PostgresPromotionRepository(self.connection)
        self.codes = PostgresCodeRepository(self.connection)
        self.ledger = PostgresLimitLedger(self.connection)
        self.redemptions = PostgresRedemptionRepository(self.connection)
        self.trials = PostgresTrialRepository(self.connection)
        self.referrals = PostgresReferralRepository(self.connection)
        self.campaigns = PostgresCampaignRepository(self.connection)
        self.experiments = PostgresExperimentRepository(self.connection)
        self.subscription_keys = PostgresSubscriptionKeyRepository(self.connection, self._keyring)
        return self
