"""Campaign worker: referral scans handed over by the scan function (SQS) become invites or
recorded refusals; every minute (EventBridge) invites past their stay time are credited and
reward notifications that are due are sent or retried. A message whose processing fails
(storage trouble) is reported back alone and comes again: the invite's conditional writes make
a second pass harmless."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.campaigns.rules import ReferralVisit
from siyu.campaigns.service import CampaignService
from siyu.core.clock import from_iso

logger = Logger(service="campaign_worker")
processor = BatchProcessor(event_type=EventType.SQS)
service = CampaignService.from_environment()


def handle_referral(record) -> str:
    message = json.loads(record.body)
    visit = ReferralVisit(
        message["campaign_id"],
        message["referrer_id"],
        message["visitor_id"],
        bool(message["first_visit"]),
        message.get("address_hash", ""),
        from_iso(message["at"]),
    )
    outcome = service.register_referral(visit)
    logger.info("referral", extra={"campaign_id": visit.campaign_id, "referrer": visit.referrer_id, "outcome": outcome})
    return outcome


@logger.inject_lambda_context
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(
            event=event, record_handler=handle_referral, processor=processor, context=context
        )
    outcomes = service.credit_due()  # the schedule
    logger.info("scheduled run", extra={"outcomes": outcomes})
    return {"outcomes": outcomes}
