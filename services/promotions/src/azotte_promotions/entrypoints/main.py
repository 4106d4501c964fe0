"""Composition root of the promotions service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import grpc

from azotte.promotions.v1 import promotions_pb2, promotions_pb2_grpc
from azotte_platform.events import nats_connection
from azotte_platform.events.consumer import EventConsumer
from azotte_platform.grpc.client import connect
from azotte_platform.grpc.server import ServiceSpec, run_service
from azotte_platform.runtime import Runtime
from azotte_platform.sealing import Keyring
from azotte_platform.service_kit import Units
from azotte_promotions.adapters import proto
from azotte_promotions.adapters.lifecycle import GrpcTrialExtensions
from azotte_promotions.adapters.payments import GrpcCredits
from azotte_promotions.adapters.people import GrpcPeople
from azotte_promotions.adapters.repositories.store_offers import KEKS_SETTING
from azotte_promotions.adapters.unit_of_work import PostgresPromotionsUnitOfWork
from azotte_promotions.entrypoints.campaign_consumer import (
    CAMPAIGN_EVENTS,
    TRIAL_ENDING_EVENTS,
    USAGE_CAMPAIGN_EVENTS,
    CampaignEventHandler,
    handle_trial_ending_event,
)
from azotte_promotions.entrypoints.payment_consumer import PAYMENT_EVENTS, handle_payment_event
from azotte_promotions.entrypoints.referral_consumer import REFERRAL_EVENTS, ConversionHandler
from azotte_promotions.entrypoints.servicer import PromotionsServicer
from azotte_promotions.entrypoints.trial_consumer import TRIAL_EVENTS, TrialStartedHandler
from azotte_promotions.ports import Credits, People, TrialExtensions
from azotte_promotions.service_layer.sweeper import ReservationSweeper
from azotte_promotions.service_layer.trial_endings import TrialEndingSweeper
from azotte_promotions.settings import PromotionsSettings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
SERVICE_NAME = promotions_pb2.DESCRIPTOR.services_by_name["PromotionsService"].full_name


@dataclass(frozen=True)
class Promotions:
    """The assembled service: its servicer, the sweeps of timed-out reservations and of trials about to end, and
    the consumers of lifecycle's events (trials taken, referral conversions, campaign triggers, trial ends), of
    metering's (usage thresholds) and of payments' (experiments' revenue)."""

    servicer: PromotionsServicer
    sweeper: ReservationSweeper
    trial_endings: TrialEndingSweeper
    trials: EventConsumer[PostgresPromotionsUnitOfWork]
    conversions: EventConsumer[PostgresPromotionsUnitOfWork]
    campaigns: EventConsumer[PostgresPromotionsUnitOfWork]
    usage_campaigns: EventConsumer[PostgresPromotionsUnitOfWork]
    trial_ends: EventConsumer[PostgresPromotionsUnitOfWork]
    payments: EventConsumer[PostgresPromotionsUnitOfWork]

    @property
    def consumers(self) -> tuple[EventConsumer[PostgresPromotionsUnitOfWork], ...]:
        return (
            self.trials,
            self.conversions,
            self.campaigns,
            self.usage_campaigns,
            self.trial_ends,
            self.payments,
        )


def settings_of(runtime: Runtime) -> PromotionsSettings:
    settings = runtime.settings
    return settings if isinstance(settings, PromotionsSettings) else PromotionsSettings(**settings.model_dump())


def peers_of(settings: PromotionsSettings) -> tuple[People, Credits, TrialExtensions]:
    """Catalog, lifecycle and payments at their configured addresses."""
    payments, lifecycle = connect(settings.payments_addr), connect(settings.lifecycle_addr)
    people = GrpcPeople(connect(settings.catalog_addr), lifecycle, payments)
    return people, GrpcCredits(payments), GrpcTrialExtensions(lifecycle)


def assemble(
    runtime: Runtime, settings: PromotionsSettings, people: People, credits: Credits, trials: TrialExtensions
) -> Promotions:
    """Wire the use cases to a runtime and the peers."""

    keyring = Keyring.parse(settings.promotions_keks.get_secret_value(), KEKS_SETTING)

    def uow() -> PostgresPromotionsUnitOfWork:
        return PostgresPromotionsUnitOfWork(
            runtime.engine, "promotions", runtime.clock, proto.to_event, keyring=keyring
        )

    sweeper = ReservationSweeper(uow, settings.reservation_sweep_interval_s, settings.reservation_sweep_batch)
    trial_endings = TrialEndingSweeper(
        uow, trials, settings.trial_ending_sweep_interval_s, settings.trial_ending_sweep_batch
    )
    servicer = PromotionsServicer(Units(uow), timedelta(seconds=settings.reservation_ttl_s), people)
    trials_consumer = EventConsumer(runtime.js, uow, TRIAL_EVENTS, TrialStartedHandler(people))
    conversions = EventConsumer(runtime.js, uow, REFERRAL_EVENTS, ConversionHandler(credits))
    campaigns = EventConsumer(runtime.js, uow, CAMPAIGN_EVENTS, CampaignEventHandler(trials))
    usage_campaigns = EventConsumer(runtime.js, uow, USAGE_CAMPAIGN_EVENTS, CampaignEventHandler(trials))
    trial_ends = EventConsumer(runtime.js, uow, TRIAL_ENDING_EVENTS, handle_trial_ending_event)
    payments = EventConsumer(runtime.js, uow, PAYMENT_EVENTS, handle_payment_event)
    return Promotions(
        servicer, sweeper, trial_endings, trials_consumer, conversions, campaigns, usage_campaigns, trial_ends, payments
    )


async def build(runtime: Runtime, server: grpc.aio.Server) -> list[str]:
    """Serve PromotionsService; run the reservation sweep and the consumers in the background."""
    settings = settings_of(runtime)
    promotions = assemble(runtime, settings, *peers_of(settings))
    promotions_pb2_grpc.add_PromotionsServiceServicer_to_server(promotions.servicer, server)
    runtime.spawn(promotions.sweeper.run_forever)
    runtime.spawn(promotions.trial_endings.run_forever)
    # NOTE: the suite starts services together: a producer's stream may not exist yet. Creating it with the
    # producer's own (idempotent) configuration lets the consumers start now and read it from its beginning.
    for spec in (TRIAL_EVENTS, REFERRAL_EVENTS, CAMPAIGN_EVENTS, USAGE_CAMPAIGN_EVENTS, PAYMENT_EVENTS):
        await nats_connection.ensure_service_stream(runtime.js, spec.producer)
    for consumer in promotions.consumers:
        runtime.spawn(consumer.run)
    runtime.on_clock_change(promotions.sweeper.on_clock_change)
    runtime.on_clock_change(promotions.trial_endings.on_clock_change)
    return [SERVICE_NAME]


def run() -> None:
    run_service(ServiceSpec("promotions", MIGRATIONS, PromotionsSettings, build))
