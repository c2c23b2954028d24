"""Poster function (SQS): renders participants' posters with Pillow + segno and stores them
in the private bucket. Its own function so that Pillow and the fonts never load in the
scan path; a campaign's bulk pre-render arrives here ten posters a batch. For a WeCom campaign it
first makes the participant's own contact way (once), whose QR the poster carries."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.campaigns.poster_jobs import PosterRenderer
from siyu.campaigns.referral_ways import ParticipantWays
from siyu.campaigns.repository import CampaignsTable, job_of
from siyu.campaigns.service import way_limit_from_environment
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.wecom.connection import WecomConnections
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.repository import WecomTable
from siyu.wecom.ways import ReferralWays

logger = Logger(service="poster")
processor = BatchProcessor(event_type=EventType.SQS)
table = CampaignsTable.from_environment()
wecom_table = WecomTable.from_environment()
ways = ReferralWays(WecomConnections(wecom_table, CredentialsStore.from_environment()), wecom_table)
renderer = PosterRenderer(
    table, UploadsBucket.from_environment(), ParticipantWays(table, ways, way_limit_from_environment())
)


def render_one(record) -> str:
    job = job_of(record.body)
    outcome = renderer.render(job)
    logger.info(
        "poster", extra={"campaign_id": job.campaign_id, "participant_id": job.participant_id, "outcome": outcome}
    )
    return outcome


@logger.inject_lambda_context
def lambda_handler(event, context):
    return process_partial_response(event=event, record_handler=render_one, processor=processor, context=context)
