"""What the routers share: the admin services (built here from the real repositories) and how to
build public and admin URLs."""

import functools
import os

from siyu.alerts.admin import AlertAdmin
from siyu.alerts.repository import AlertsTable, AlertTopic
from siyu.campaigns.admin import CampaignAdmin
from siyu.campaigns.erasure import CampaignErasure, retention_from_environment
from siyu.campaigns.poster_jobs import PosterRenderer
from siyu.campaigns.repository import CampaignsTable
from siyu.campaigns.repository.erasure import ErasureRecords
from siyu.campaigns.service import CampaignService
from siyu.layering.admin import LayeringAdmin
from siyu.layering.flash import FlashMetrics
from siyu.layering.flash_repository import FlashTable
from siyu.layering.links import LinkAdmin
from siyu.layering.links_repository import LinksTable
from siyu.layering.profiles_repository import ProfilesTable
from siyu.layering.questionnaires_repository import QuestionnairesTable
from siyu.layering.queue_repository import LayeringQueue
from siyu.layering.secret_repository import OrderWebhookSecret
from siyu.layering.segments import Segments
from siyu.live_codes.admin import CodeAdmin
from siyu.live_codes.repository import CodesTable
from siyu.live_codes.targets_admin import TargetAdmin
from siyu.sop.admin import SopAdmin
from siyu.sop.repository import SopTable
from siyu.statistics.admin import StatsAdmin
from siyu.statistics.repository import StatsTable
from siyu.statistics.visitors_repository import VisitorsTable
from siyu.storage.signing_key import SigningKey
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contact_tagger import WecomContactTagger
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.group_messages import WecomGroupMessages
from siyu.wecom.repository import WecomTable
from siyu.wecom.ways import ReferralWays, WecomWays


@functools.cache
def code_admin() -> CodeAdmin:
    # Targets' and channels' WeCom ways are made through the code admin's way maker.
    return CodeAdmin(CodesTable.from_environment(), way_maker=wecom_ways())


@functools.cache
def target_admin() -> TargetAdmin:
    return TargetAdmin(code_admin(), UploadsBucket.from_environment())  # uses code_admin()'s way maker


@functools.cache
def wecom_table() -> WecomTable:
    return WecomTable.from_environment()


@functools.cache
def wecom_connections() -> WecomConnections:
    return WecomConnections(wecom_table(), CredentialsStore.from_environment())


@functools.cache
def wecom_ways() -> WecomWays:
    return WecomWays(wecom_connections(), wecom_table(), wecom_contacts())


@functools.cache
def wecom_contacts() -> ContactsTable:
    return ContactsTable.from_environment()


@functools.cache
def alert_admin() -> AlertAdmin:
    return AlertAdmin(AlertsTable.from_environment(), CodesTable.from_environment(), AlertTopic.from_environment())


@functools.cache
def sop_admin() -> SopAdmin:
    table, codes, bucket = SopTable.from_environment(), CodesTable.from_environment(), UploadsBucket.from_environment()
    return SopAdmin(table, codes, bucket, chats=wecom_contacts(), messenger=WecomGroupMessages(wecom_connections()))


@functools.cache
def campaign_admin() -> CampaignAdmin:
    table, bucket = CampaignsTable.from_environment(), UploadsBucket.from_environment()
    service = CampaignService.from_environment()
    return CampaignAdmin(
        table,
        CodesTable.from_environment(),
        bucket,
        service,
        PosterRenderer(table, bucket),
        wecom_connected=lambda: wecom_connections().current() is not None,
    )


@functools.cache
def campaign_erasure() -> CampaignErasure:
    return CampaignErasure(
        CampaignsTable.from_environment(),
        ErasureRecords.from_environment(),
        UploadsBucket.from_environment(),
        ways=ReferralWays(wecom_connections(), wecom_table()),
        retention=retention_from_environment(),
    )


@functools.cache
def stats_admin() -> StatsAdmin:
    return StatsAdmin(code_admin(), StatsTable.from_environment())


@functools.cache
def visitors_table() -> VisitorsTable:
    return VisitorsTable.from_environment()


@functools.cache
def contact_tagger() -> WecomContactTagger:
    return WecomContactTagger(wecom_connections())


@functools.cache
def layering_admin() -> LayeringAdmin:
    profiles = ProfilesTable.from_environment()
    return LayeringAdmin(
        QuestionnairesTable.from_environment(),
        profiles,
        Segments(profiles, tagger=lambda: contact_tagger() if contact_tagger().connected() else None),
        SigningKey.from_environment().get,
        scans=visitors_table(),
        tagger=lambda: contact_tagger() if contact_tagger().connected() else None,
        codes=CodesTable.from_environment(),
        backfills=LayeringQueue.from_environment(),
    )


@functools.cache
def link_admin() -> LinkAdmin:
    return LinkAdmin(LinksTable.from_environment())


@functools.cache
def flash_metrics() -> FlashMetrics:
    return FlashMetrics(
        FlashTable.from_environment(), LinksTable.from_environment(), StatsTable.from_environment(), wecom_contacts()
    )


@functools.cache
def order_webhook_secret() -> OrderWebhookSecret:
    return OrderWebhookSecret.from_environment()


def api_base(event) -> str:
    """This API as the request reached it (where the admin routes live)."""
    proto = event.headers.get("x-forwarded-proto", "https")
    return f"{proto}://{event.request_context.domain_name}"


def public_base(event) -> str:
    """Where public pages live: PUBLIC_BASE_URL (a custom domain) if set, otherwise the API's
    own domain as this request reached it."""
    return os.environ.get("PUBLIC_BASE_URL", "").rstrip("/") or api_base(event)


def scan_url(event, code_id: str) -> str:
    """The public URL printed on parcel cards."""
    return f"{public_base(event)}/s/{code_id}"
