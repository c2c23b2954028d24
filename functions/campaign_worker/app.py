"""Campaign worker: referral scans handed over by the scan function, and WeCom adds and deletes
through participants' own contact ways handed over by the WeCom worker (SQS), become invites,
revocations or recorded refusals; every minute (EventBridge) invites past their stay time are
credited, reward notifications that are due are sent or retried, and the contact ways of ended
WeCom campaigns are deleted (a bounded number per run), and campaigns past their data retention
are erased (campaigns/erasure.py). A message whose processing fails
(storage trouble) is reported back alone and comes again: the invite's conditional writes make
a second pass harmless."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.campaigns.erasure import CampaignErasure, retention_from_environment
from siyu.campaigns.referral_ways import ParticipantWays
from siyu.campaigns.referrals import referral_visit_of, wecom_add_of
from siyu.campaigns.repository import CampaignsTable
from siyu.campaigns.repository.erasure import ErasureRecords
from siyu.campaigns.service import CampaignService, way_limit_from_environment
from siyu.core.clock import from_iso
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.wecom.connection import WecomConnections
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.repository import WecomTable
from siyu.wecom.ways import ReferralWays

logger = Logger(service="campaign_worker")
processor = BatchProcessor(event_type=EventType.SQS)
service = CampaignService.from_environment()
wecom_table = WecomTable.from_environment()
connections = WecomConnections(wecom_table, CredentialsStore.from_environment())
# Campaigns past CampaignDataRetentionDays after their end are erased (their ways are deleted first).
erasure = CampaignErasure(
    CampaignsTable.from_environment(),
    ErasureRecords.from_environment(),
    UploadsBucket.from_environment(),
    retention=retention_from_environment(),
)
participant_ways = ParticipantWays(
    CampaignsTable.from_environment(), ReferralWays(connections, wecom_table), way_limit_from_environment()
)


def handle_message(record) -> str:
    message = json.loads(record.body)
    kind = message.get("kind", "referral")
    if kind == "wecom_add":
        outcome = service.register_wecom_add(wecom_add_of(message))
    elif kind == "wecom_delete":
        outcome = service.wecom_left(
            message["campaign_id"], message["participant_id"], message["external_userid"], from_iso(message["at"])
        )
    else:
        outcome = service.register_referral(referral_visit_of(message))
    logger.info(kind, extra={"campaign_id": message.get("campaign_id"), "outcome": outcome})
    return outcome


@logger.inject_lambda_context
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=handle_message, processor=processor, context=context
        )
    outcomes = service.credit_due()  # the schedule
    ways = participant_ways.delete_ended() if connections.current() is not None else None
    erased = erasure.expire(seconds=max(0.0, context.get_remaining_time_in_millis() / 1000 - 15))
    logger.info("scheduled run", extra={"outcomes": outcomes, "ways": ways, "erased": erased})
    return {"outcomes": outcomes, "ways": ways, "erased": erased}
