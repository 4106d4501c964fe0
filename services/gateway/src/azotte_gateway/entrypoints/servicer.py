"""gRPC servicers of the public API: authenticate, enter the caller's tenant, call the area method of the RPC."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import grpc
from google.protobuf import any_pb2, duration_pb2
from google.protobuf.descriptor import FileDescriptor, ServiceDescriptor
from google.rpc import error_details_pb2, status_pb2

from azotte.gateway.v1 import (
    analytics_pb2,
    analytics_pb2_grpc,
    billing_pb2,
    billing_pb2_grpc,
    campaigns_pb2,
    campaigns_pb2_grpc,
    catalog_admin_pb2,
    catalog_admin_pb2_grpc,
    channel_apps_pb2,
    channel_apps_pb2_grpc,
    channel_notifications_pb2,
    channel_notifications_pb2_grpc,
    contracts_pb2,
    contracts_pb2_grpc,
    customers_pb2,
    customers_pb2_grpc,
    experiments_pb2,
    experiments_pb2_grpc,
    families_pb2,
    families_pb2_grpc,
    gateway_pb2,
    gateway_pb2_grpc,
    grants_pb2,
    grants_pb2_grpc,
    invoices_pb2,
    invoices_pb2_grpc,
    policy_pb2,
    policy_pb2_grpc,
    portal_users_pb2,
    portal_users_pb2_grpc,
    price_changes_pb2,
    price_changes_pb2_grpc,
    promotions_pb2,
    promotions_pb2_grpc,
    psp_accounts_pb2,
    psp_accounts_pb2_grpc,
    referrals_pb2,
    referrals_pb2_grpc,
    tenant_admin_pb2,
    tenant_admin_pb2_grpc,
    usage_billing_pb2,
    usage_billing_pb2_grpc,
    usage_pb2,
    usage_pb2_grpc,
    webhooks_pb2,
    webhooks_pb2_grpc,
)
from azotte_gateway.errors import RateLimited
from azotte_gateway.service_layer.auth import (
    CUSTOMER_TOKEN_HEADER,
    RETRY_AFTER_KEY,
    Caller,
    single_authorization,
    single_customer_token,
)
from azotte_gateway.service_layer.gateway import Gateway
from azotte_platform.errors import ResourceExhausted
from azotte_platform.grpc.status import DETAILS_KEY, to_rich_status

Context = grpc.aio.ServicerContext[Any, Any]
Operation = Callable[[Caller, Any], Awaitable[Any]]


async def _abort_rate_limited(error: ResourceExhausted, servicer_context: Context) -> None:
    """RESOURCE_EXHAUSTED with a google.rpc.RetryInfo detail next to the ErrorInfo."""
    code, message, trailers = to_rich_status(error)
    status = status_pb2.Status.FromString(trailers[0][1])
    retry = error_details_pb2.RetryInfo(
        retry_delay=duration_pb2.Duration(seconds=int(error.metadata.get(RETRY_AFTER_KEY, "1")))
    )
    packed = any_pb2.Any()
    packed.Pack(retry)
    status.details.append(packed)
    await servicer_context.abort(code, message, ((DETAILS_KEY, status.SerializeToString()),))


def _stream(select: Callable[[Gateway], Operation]) -> Callable[..., AsyncIterator[Any]]:
    """The servicer method of a server or bidirectional stream: authenticated once, then the area method's answers."""

    async def handler(self: _Servicer, request: Any, servicer_context: Context) -> AsyncIterator[Any]:
        responses = await self.serve(select(self.gateway), request, servicer_context)
        async for response in responses:
            yield response

    return handler


def _rpc(select: Callable[[Gateway], Operation]) -> Callable[..., Awaitable[Any]]:
    """The servicer method of an RPC served by the area method `select` picks."""

    async def handler(self: _Servicer, request: Any, servicer_context: Context) -> Any:
        return await self.serve(select(self.gateway), request, servicer_context)

    return handler


class _Servicer:
    def __init__(self, gateway: Gateway):
        self.gateway = gateway

    async def serve(self, operation: Operation, request: Any, servicer_context: Context) -> Any:
        """Authenticate the call's key, then run `operation` as the caller's tenant."""
        metadata = servicer_context.invocation_metadata() or ()
        try:
            authorization = single_authorization([str(v) for k, v in metadata if k == "authorization"])
            token = single_customer_token([str(v) for k, v in metadata if k == CUSTOMER_TOKEN_HEADER])
            caller = await self.gateway.authenticator.authenticate(authorization, token)
        except RateLimited as error:
            await _abort_rate_limited(error, servicer_context)
            raise
        with caller.scope():
            return await operation(caller, request)


class GatewayServicer(_Servicer, gateway_pb2_grpc.GatewayServiceServicer):
    """GatewayService: each RPC is served by the area method of the same name."""

    CheckAccess = _rpc(lambda g: g.access.check_access)
    BatchCheckAccess = _rpc(lambda g: g.access.batch_check_access)
    ListEntitlements = _rpc(lambda g: g.access.list_entitlements)
    WatchEntitlements = _stream(lambda g: g.access.watch_entitlements)
    CreateCustomer = _rpc(lambda g: g.checkout.create_customer)
    GetCustomer = _rpc(lambda g: g.checkout.get_customer)
    Checkout = _rpc(lambda g: g.checkout.checkout)
    GetSubscription = _rpc(lambda g: g.subscriptions.get_subscription)
    ListSubscriptions = _rpc(lambda g: g.subscriptions.list_subscriptions)
    CancelSubscription = _rpc(lambda g: g.subscriptions.cancel_subscription)
    ReactivateSubscription = _rpc(lambda g: g.subscriptions.reactivate_subscription)
    PauseSubscription = _rpc(lambda g: g.subscriptions.pause_subscription)
    ResumeSubscription = _rpc(lambda g: g.subscriptions.resume_subscription)
    PreviewPlanChange = _rpc(lambda g: g.subscriptions.preview_plan_change)
    ChangeSubscriptionPlan = _rpc(lambda g: g.subscriptions.change_subscription_plan)
    CreatePaymentMethod = _rpc(lambda g: g.billing.create_payment_method)
    ListCharges = _rpc(lambda g: g.billing.list_charges)
    RefundCharge = _rpc(lambda g: g.billing.refund_charge)
    ApplyCatalog = _rpc(lambda g: g.catalog.apply_catalog)
    ExportCatalog = _rpc(lambda g: g.catalog.export_catalog)
    GetStorefront = _rpc(lambda g: g.catalog.get_storefront)
    ListStorefronts = _rpc(lambda g: g.catalog.list_storefronts)
    GetPlan = _rpc(lambda g: g.catalog.get_plan)
    ListPlans = _rpc(lambda g: g.catalog.list_plans)
    ListPrices = _rpc(lambda g: g.catalog.list_prices)
    AdvanceSandboxClock = _rpc(lambda g: g.admin.advance_sandbox_clock)


class TenantAdminServicer(_Servicer, tenant_admin_pb2_grpc.TenantAdminServiceServicer):
    """TenantAdminService: tenants and API keys."""

    CreateTenant = _rpc(lambda g: g.admin.create_tenant)
    CreateApiKey = _rpc(lambda g: g.admin.create_api_key)
    ListApiKeys = _rpc(lambda g: g.admin.list_api_keys)
    RevokeApiKey = _rpc(lambda g: g.admin.revoke_api_key)
    CreateCustomerToken = _rpc(lambda g: g.admin.create_customer_token)


class PortalUsersServicer(_Servicer, portal_users_pb2_grpc.PortalUsersServiceServicer):
    """PortalUsersService: the people who sign in to the portal."""

    CreatePortalUser = _rpc(lambda g: g.portal_users.create_portal_user)
    ListPortalUsers = _rpc(lambda g: g.portal_users.list_portal_users)
    DisablePortalUser = _rpc(lambda g: g.portal_users.disable_portal_user)


class BillingServicer(_Servicer, billing_pb2_grpc.BillingServiceServicer):
    """BillingService: payment methods, credit, voids, the revenue report and the ledger."""

    ListPaymentMethods = _rpc(lambda g: g.billing.list_payment_methods)
    SetDefaultPaymentMethod = _rpc(lambda g: g.billing.set_default_payment_method)
    DeletePaymentMethod = _rpc(lambda g: g.billing.delete_payment_method)
    GrantCredit = _rpc(lambda g: g.billing.grant_credit)
    ListCreditBalances = _rpc(lambda g: g.billing.list_credit_balances)
    ListCreditMovements = _rpc(lambda g: g.billing.list_credit_movements)
    VoidCharge = _rpc(lambda g: g.billing.void_charge)
    GetRevenueReport = _rpc(lambda g: g.billing.get_revenue_report)
    GetLedgerBalance = _rpc(lambda g: g.billing.get_ledger_balance)


class CatalogAdminServicer(_Servicer, catalog_admin_pb2_grpc.CatalogAdminServiceServicer):
    """CatalogAdminService: catalog resources one by one."""

    CreateStorefront = _rpc(lambda g: g.catalog.create_storefront)
    UpdateStorefront = _rpc(lambda g: g.catalog.update_storefront)
    GetFeature = _rpc(lambda g: g.catalog.get_feature)
    ListFeatures = _rpc(lambda g: g.catalog.list_features)
    CreateFeature = _rpc(lambda g: g.catalog.create_feature)
    UpdateFeature = _rpc(lambda g: g.catalog.update_feature)
    CreatePlan = _rpc(lambda g: g.catalog.create_plan)
    UpdatePlan = _rpc(lambda g: g.catalog.update_plan)
    ActivatePlan = _rpc(lambda g: g.catalog.activate_plan)
    RetirePlan = _rpc(lambda g: g.catalog.retire_plan)
    SchedulePrice = _rpc(lambda g: g.catalog.schedule_price)
    CancelPrice = _rpc(lambda g: g.catalog.cancel_price)
    CreateChannelMapping = _rpc(lambda g: g.catalog.create_channel_mapping)
    ListChannelMappings = _rpc(lambda g: g.catalog.list_channel_mappings)


class GrantsServicer(_Servicer, grants_pb2_grpc.GrantsServiceServicer):
    """GrantsService: comps, revocations, suspensions and drift reconciliation."""

    CreateGrant = _rpc(lambda g: g.grants.create_grant)
    ListGrants = _rpc(lambda g: g.grants.list_grants)
    RevokeGrant = _rpc(lambda g: g.grants.revoke_grant)
    SuspendFeature = _rpc(lambda g: g.grants.suspend_feature)
    RestoreFeature = _rpc(lambda g: g.grants.restore_feature)
    ReconcileGrants = _rpc(lambda g: g.grants.reconcile_grants)


class FamiliesServicer(_Servicer, families_pb2_grpc.FamiliesServiceServicer):
    """FamiliesService: the owner's seats, members and invites."""

    GetFamily = _rpc(lambda g: g.families.get_family)
    ListFamilyMembers = _rpc(lambda g: g.families.list_family_members)
    AddFamilyMember = _rpc(lambda g: g.families.add_family_member)
    RemoveFamilyMember = _rpc(lambda g: g.families.remove_family_member)
    CreateFamilyInvite = _rpc(lambda g: g.families.create_family_invite)
    ListFamilyInvites = _rpc(lambda g: g.families.list_family_invites)
    RevokeFamilyInvite = _rpc(lambda g: g.families.revoke_family_invite)
    AcceptFamilyInvite = _rpc(lambda g: g.families.accept_family_invite)


class CustomersServicer(_Servicer, customers_pb2_grpc.CustomersServiceServicer):
    """CustomersService: customer search, channel identities, subscription history."""

    ListCustomers = _rpc(lambda g: g.customers.list_customers)
    LinkChannelIdentity = _rpc(lambda g: g.customers.link_channel_identity)
    ListSubscriptionHistory = _rpc(lambda g: g.customers.list_subscription_history)


class LifecyclePolicyServicer(_Servicer, policy_pb2_grpc.LifecyclePolicyServiceServicer):
    """LifecyclePolicyService: the tenant's lifecycle policy and its versions."""

    GetLifecyclePolicy = _rpc(lambda g: g.policy.get_lifecycle_policy)
    UpdateLifecyclePolicy = _rpc(lambda g: g.policy.update_lifecycle_policy)
    ListLifecyclePolicyVersions = _rpc(lambda g: g.policy.list_lifecycle_policy_versions)


class PromotionsServicer(_Servicer, promotions_pb2_grpc.PromotionsServiceServicer):
    """PromotionsService: promotions, codes and batches, goodwill codes, a code's validation, trial eligibility."""

    CreatePromotion = _rpc(lambda g: g.promotions.create_promotion)
    GetPromotion = _rpc(lambda g: g.promotions.get_promotion)
    ListPromotions = _rpc(lambda g: g.promotions.list_promotions)
    UpdatePromotion = _rpc(lambda g: g.promotions.update_promotion)
    ActivatePromotion = _rpc(lambda g: g.promotions.activate_promotion)
    PausePromotion = _rpc(lambda g: g.promotions.pause_promotion)
    EndPromotion = _rpc(lambda g: g.promotions.end_promotion)
    CreatePromotionCode = _rpc(lambda g: g.promotions.create_promotion_code)
    RevokePromotionCode = _rpc(lambda g: g.promotions.revoke_promotion_code)
    CreateCodeBatch = _rpc(lambda g: g.promotions.create_code_batch)
    ExportCodeBatch = _rpc(lambda g: g.promotions.export_code_batch)
    GetPromotionCode = _rpc(lambda g: g.promotions.get_promotion_code)
    ListPromotionCodes = _rpc(lambda g: g.promotions.list_promotion_codes)
    GetCodeBatch = _rpc(lambda g: g.promotions.get_code_batch)
    GetRedemption = _rpc(lambda g: g.promotions.get_redemption)
    RevokeCodeBatch = _rpc(lambda g: g.promotions.revoke_code_batch)
    IssueGoodwillCode = _rpc(lambda g: g.promotions.issue_goodwill_code)
    ValidatePromotionCode = _rpc(lambda g: g.promotions.validate_promotion_code)
    ValidateAutomaticPromotion = _rpc(lambda g: g.promotions.validate_automatic_promotion)
    SetAppStoreSubscriptionKey = _rpc(lambda g: g.promotions.set_app_store_subscription_key)
    SignAppStoreOffer = _rpc(lambda g: g.promotions.sign_app_store_offer)
    CheckTrialEligibility = _rpc(lambda g: g.trials.check_trial_eligibility)


class ReferralsServicer(_Servicer, referrals_pb2_grpc.ReferralsServiceServicer):
    """ReferralsService: the referral program, customers' referral codes and the referrals."""

    GetReferralProgram = _rpc(lambda g: g.referrals.get_referral_program)
    UpdateReferralProgram = _rpc(lambda g: g.referrals.update_referral_program)
    IssueReferralCode = _rpc(lambda g: g.referrals.issue_referral_code)
    GetReferral = _rpc(lambda g: g.referrals.get_referral)
    ListReferrals = _rpc(lambda g: g.referrals.list_referrals)


class CampaignsServicer(_Servicer, campaigns_pb2_grpc.CampaignsServiceServicer):
    """CampaignsService: lifecycle-triggered campaigns and the retention offers they issued."""

    CreateCampaign = _rpc(lambda g: g.campaigns.create_campaign)
    GetCampaign = _rpc(lambda g: g.campaigns.get_campaign)
    ListCampaigns = _rpc(lambda g: g.campaigns.list_campaigns)
    SetCampaignState = _rpc(lambda g: g.campaigns.set_campaign_state)
    ListCampaignOffers = _rpc(lambda g: g.campaigns.list_campaign_offers)


class ExperimentsServicer(_Servicer, experiments_pb2_grpc.ExperimentsServiceServicer):
    """ExperimentsService: A/B experiments, customers' variants and the results."""

    CreateExperiment = _rpc(lambda g: g.experiments.create_experiment)
    GetExperiment = _rpc(lambda g: g.experiments.get_experiment)
    ListExperiments = _rpc(lambda g: g.experiments.list_experiments)
    AssignExperimentVariant = _rpc(lambda g: g.experiments.assign_experiment_variant)
    GetExperimentResults = _rpc(lambda g: g.experiments.get_experiment_results)
    EndExperiment = _rpc(lambda g: g.experiments.end_experiment)


class PspAccountsServicer(_Servicer, psp_accounts_pb2_grpc.PspAccountsServiceServicer):
    """PspAccountsService: the tenant's own payment provider accounts."""

    CreatePspAccount = _rpc(lambda g: g.psp_accounts.create_psp_account)
    GetPspAccount = _rpc(lambda g: g.psp_accounts.get_psp_account)
    ListPspAccounts = _rpc(lambda g: g.psp_accounts.list_psp_accounts)
    RewrapPspAccounts = _rpc(lambda g: g.psp_accounts.rewrap_psp_accounts)
    GetDisputePolicy = _rpc(lambda g: g.psp_accounts.get_dispute_policy)
    UpdateDisputePolicy = _rpc(lambda g: g.psp_accounts.update_dispute_policy)


class InvoicesServicer(_Servicer, invoices_pb2_grpc.InvoicesServiceServicer):
    """InvoicesService: invoices, credit notes and bank transfers."""

    CreateInvoice = _rpc(lambda g: g.invoices.create_invoice)
    IssueInvoice = _rpc(lambda g: g.invoices.issue_invoice)
    GetInvoice = _rpc(lambda g: g.invoices.get_invoice)
    ListInvoices = _rpc(lambda g: g.invoices.list_invoices)
    GetInvoicePdf = _rpc(lambda g: g.invoices.get_invoice_pdf)
    VoidInvoice = _rpc(lambda g: g.invoices.void_invoice)
    MarkInvoiceUncollectible = _rpc(lambda g: g.invoices.mark_invoice_uncollectible)
    CreateCreditNote = _rpc(lambda g: g.invoices.create_credit_note)
    RecordInvoicePayment = _rpc(lambda g: g.invoices.record_invoice_payment)
    ImportBankStatement = _rpc(lambda g: g.invoices.import_bank_statement)
    ListBankPayments = _rpc(lambda g: g.invoices.list_bank_payments)
    AssignBankPayment = _rpc(lambda g: g.invoices.assign_bank_payment)
    SetInvoiceProfile = _rpc(lambda g: g.invoices.set_invoice_profile)
    GetInvoiceProfile = _rpc(lambda g: g.invoices.get_invoice_profile)


class ContractsServicer(_Servicer, contracts_pb2_grpc.ContractsServiceServicer):
    """ContractsService: enterprise contracts billed by invoice."""

    CreateContract = _rpc(lambda g: g.contracts.create_contract)
    GetContract = _rpc(lambda g: g.contracts.get_contract)
    ListContracts = _rpc(lambda g: g.contracts.list_contracts)
    AmendContract = _rpc(lambda g: g.contracts.amend_contract)
    EndContract = _rpc(lambda g: g.contracts.end_contract)


class ChannelAppsServicer(_Servicer, channel_apps_pb2_grpc.ChannelAppsServiceServicer):
    """ChannelAppsService: the store apps and partners whose notifications the gateway accepts."""

    CreateAppStoreApp = _rpc(lambda g: g.channels.create_app_store_app)
    GetAppStoreApp = _rpc(lambda g: g.channels.get_app_store_app)
    ListAppStoreApps = _rpc(lambda g: g.channels.list_app_store_apps)
    CreateGooglePlayApp = _rpc(lambda g: g.channel_accounts.create_google_play_app)
    GetGooglePlayApp = _rpc(lambda g: g.channel_accounts.get_google_play_app)
    ListGooglePlayApps = _rpc(lambda g: g.channel_accounts.list_google_play_apps)
    CreatePartner = _rpc(lambda g: g.channel_accounts.create_partner)
    GetPartner = _rpc(lambda g: g.channel_accounts.get_partner)
    ListPartners = _rpc(lambda g: g.channel_accounts.list_partners)


class ChannelNotificationsServicer(_Servicer, channel_notifications_pb2_grpc.ChannelNotificationsServiceServicer):
    """ChannelNotificationsService: the notification inbox, and replays of what failed to apply."""

    ListChannelNotifications = _rpc(lambda g: g.channel_notifications.list_channel_notifications)
    GetChannelNotification = _rpc(lambda g: g.channel_notifications.get_channel_notification)
    ReplayChannelNotification = _rpc(lambda g: g.channel_notifications.replay_channel_notification)


class WebhooksServicer(_Servicer, webhooks_pb2_grpc.WebhooksServiceServicer):
    """WebhooksService: the tenant's webhook endpoints, the delivery log, replays and test events."""

    CreateWebhookEndpoint = _rpc(lambda g: g.webhooks.create_webhook_endpoint)
    GetWebhookEndpoint = _rpc(lambda g: g.webhooks.get_webhook_endpoint)
    ListWebhookEndpoints = _rpc(lambda g: g.webhooks.list_webhook_endpoints)
    UpdateWebhookEndpoint = _rpc(lambda g: g.webhooks.update_webhook_endpoint)
    DeleteWebhookEndpoint = _rpc(lambda g: g.webhooks.delete_webhook_endpoint)
    RotateWebhookEndpointSecret = _rpc(lambda g: g.webhooks.rotate_webhook_endpoint_secret)
    ListWebhookMessages = _rpc(lambda g: g.webhooks.list_webhook_messages)
    ListWebhookAttempts = _rpc(lambda g: g.webhooks.list_webhook_attempts)
    ReplayWebhookMessage = _rpc(lambda g: g.webhooks.replay_webhook_message)
    ReplayWebhookMessages = _rpc(lambda g: g.webhooks.replay_webhook_messages)
    SendTestWebhookEvent = _rpc(lambda g: g.webhooks.send_test_webhook_event)


class PriceChangesServicer(_Servicer, price_changes_pb2_grpc.PriceChangesServiceServicer):
    """PriceChangesService: the upcoming charge, dry runs, pending changes, consent and their impact."""

    GetUpcomingCharge = _rpc(lambda g: g.subscriptions.get_upcoming_charge)
    ListPriceChangeSubscribers = _rpc(lambda g: g.subscriptions.list_price_change_subscribers)
    GetPendingPriceChange = _rpc(lambda g: g.subscriptions.get_pending_price_change)
    ConsentToPriceChange = _rpc(lambda g: g.subscriptions.consent_to_price_change)
    DeclinePriceChange = _rpc(lambda g: g.subscriptions.decline_price_change)
    GetPriceChangeImpact = _rpc(lambda g: g.subscriptions.get_price_change_impact)


class AnalyticsServicer(_Servicer, analytics_pb2_grpc.AnalyticsServiceServicer):
    """AnalyticsService: MRR, churn, payments, revenue, campaigns, experiments, the revenue stream, rates, rebuilds."""

    GetMrrReport = _rpc(lambda g: g.analytics.get_mrr_report)
    GetChurnReport = _rpc(lambda g: g.analytics.get_churn_report)
    GetPaymentReport = _rpc(lambda g: g.analytics.get_payment_report)
    GetRevenueSummary = _rpc(lambda g: g.analytics.get_revenue_summary)
    GetCampaignReport = _rpc(lambda g: g.analytics.get_campaign_report)
    GetExperimentReport = _rpc(lambda g: g.analytics.get_experiment_report)
    GetUsageRevenueReport = _rpc(lambda g: g.analytics.get_usage_revenue_report)
    ListRevenueEvents = _rpc(lambda g: g.analytics.list_revenue_events)
    SetExchangeRate = _rpc(lambda g: g.analytics.set_exchange_rate)
    ListExchangeRates = _rpc(lambda g: g.analytics.list_exchange_rates)
    RebuildAnalytics = _rpc(lambda g: g.analytics.rebuild_analytics)


class UsageServicer(_Servicer, usage_pb2_grpc.UsageServiceServicer):
    """UsageService: usage events, meters, a customer's usage and the raw events."""

    CreateMeter = _rpc(lambda g: g.usage.create_meter)
    GetMeter = _rpc(lambda g: g.usage.get_meter)
    ListMeters = _rpc(lambda g: g.usage.list_meters)
    UpdateMeter = _rpc(lambda g: g.usage.update_meter)
    GetUsage = _rpc(lambda g: g.usage.get_usage)
    ListUsageEvents = _rpc(lambda g: g.usage.list_usage_events)

    async def IngestEvents(self, request: Any, servicer_context: Context) -> Any:
        try:
            return await self.serve(self.gateway.usage.ingest_events, request, servicer_context)
        except ResourceExhausted as error:
            # NOTE: a saturated metering answers with a delay, which gRPC callers read from a RetryInfo.
            await _abort_rate_limited(error, servicer_context)
            raise

    StreamEvents = _stream(lambda g: g.usage.stream_events)


class UsageBillingServicer(_Servicer, usage_billing_pb2_grpc.UsageBillingServiceServicer):
    """UsageBillingService: usage prices, wallets, limits and the upcoming usage charges."""

    SetUsagePrice = _rpc(lambda g: g.usage_billing.set_usage_price)
    ListUsagePrices = _rpc(lambda g: g.usage_billing.list_usage_prices)
    DeleteUsagePrice = _rpc(lambda g: g.usage_billing.delete_usage_price)
    GrantUsageCredit = _rpc(lambda g: g.usage_billing.grant_usage_credit)
    TopUpWallet = _rpc(lambda g: g.usage_billing.top_up_wallet)
    SetAutoRecharge = _rpc(lambda g: g.usage_billing.set_auto_recharge)
    GetWallet = _rpc(lambda g: g.usage_billing.get_wallet)
    ListWallets = _rpc(lambda g: g.usage_billing.list_wallets)
    ListWalletMovements = _rpc(lambda g: g.usage_billing.list_wallet_movements)
    SetUsageLimit = _rpc(lambda g: g.usage_billing.set_usage_limit)
    ListUsageLimits = _rpc(lambda g: g.usage_billing.list_usage_limits)
    GetUsageLimit = _rpc(lambda g: g.usage_billing.get_usage_limit)
    DeleteUsageLimit = _rpc(lambda g: g.usage_billing.delete_usage_limit)
    PreviewUsageCharges = _rpc(lambda g: g.usage_billing.preview_usage_charges)


def _service(module: ModuleType) -> ServiceDescriptor:
    """The one service a public proto file declares."""
    descriptor: FileDescriptor = module.DESCRIPTOR
    (service,) = descriptor.services_by_name.values()
    return service


@dataclass(frozen=True)
class PublicService:
    """A gRPC service of the public API: its descriptor, its servicer and how it is added to a server."""

    descriptor: ServiceDescriptor
    servicer: type[_Servicer]
    add_to_server: Callable[[Any, grpc.aio.Server], None]


PUBLIC_SERVICES = (
    PublicService(_service(gateway_pb2), GatewayServicer, gateway_pb2_grpc.add_GatewayServiceServicer_to_server),
    PublicService(
        _service(tenant_admin_pb2), TenantAdminServicer, tenant_admin_pb2_grpc.add_TenantAdminServiceServicer_to_server
    ),
    PublicService(_service(billing_pb2), BillingServicer, billing_pb2_grpc.add_BillingServiceServicer_to_server),
    PublicService(
        _service(catalog_admin_pb2),
        CatalogAdminServicer,
        catalog_admin_pb2_grpc.add_CatalogAdminServiceServicer_to_server,
    ),
    PublicService(_service(families_pb2), FamiliesServicer, families_pb2_grpc.add_FamiliesServiceServicer_to_server),
    PublicService(_service(grants_pb2), GrantsServicer, grants_pb2_grpc.add_GrantsServiceServicer_to_server),
    PublicService(
        _service(customers_pb2), CustomersServicer, customers_pb2_grpc.add_CustomersServiceServicer_to_server
    ),
    PublicService(
        _service(policy_pb2), LifecyclePolicyServicer, policy_pb2_grpc.add_LifecyclePolicyServiceServicer_to_server
    ),
    PublicService(
        _service(promotions_pb2), PromotionsServicer, promotions_pb2_grpc.add_PromotionsServiceServicer_to_server
    ),
    PublicService(
        _service(referrals_pb2), ReferralsServicer, referrals_pb2_grpc.add_ReferralsServiceServicer_to_server
    ),
    PublicService(
        _service(campaigns_pb2), CampaignsServicer, campaigns_pb2_grpc.add_CampaignsServiceServicer_to_server
    ),
    PublicService(
        _service(experiments_pb2), ExperimentsServicer, experiments_pb2_grpc.add_ExperimentsServiceServicer_to_server
    ),
    PublicService(
        _service(channel_apps_pb2),
        ChannelAppsServicer,
        channel_apps_pb2_grpc.add_ChannelAppsServiceServicer_to_server,
    ),
    PublicService(
        _service(channel_notifications_pb2),
        ChannelNotificationsServicer,
        channel_notifications_pb2_grpc.add_ChannelNotificationsServiceServicer_to_server,
    ),
    PublicService(_service(webhooks_pb2), WebhooksServicer, webhooks_pb2_grpc.add_WebhooksServiceServicer_to_server),
    PublicService(
        _service(price_changes_pb2),
        PriceChangesServicer,
        price_changes_pb2_grpc.add_PriceChangesServiceServicer_to_server,
    ),
    PublicService(
        _service(analytics_pb2), AnalyticsServicer, analytics_pb2_grpc.add_AnalyticsServiceServicer_to_server
    ),
    PublicService(_service(usage_pb2), UsageServicer, usage_pb2_grpc.add_UsageServiceServicer_to_server),
    PublicService(
        _service(usage_billing_pb2),
        UsageBillingServicer,
        usage_billing_pb2_grpc.add_UsageBillingServiceServicer_to_server,
    ),
    PublicService(
        _service(psp_accounts_pb2), PspAccountsServicer, psp_accounts_pb2_grpc.add_PspAccountsServiceServicer_to_server
    ),
    PublicService(
        _service(portal_users_pb2), PortalUsersServicer, portal_users_pb2_grpc.add_PortalUsersServiceServicer_to_server
    ),
    PublicService(_service(invoices_pb2), InvoicesServicer, invoices_pb2_grpc.add_InvoicesServiceServicer_to_server),
    PublicService(
        _service(contracts_pb2), ContractsServicer, contracts_pb2_grpc.add_ContractsServiceServicer_to_server
    ),
)
"""Every service the gateway's port serves (besides health and reflection), one per area of the API."""
