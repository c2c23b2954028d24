"""Poster function (SQS): renders participants' posters with Pillow + segno and stores them
in the private bucket. Its own function so that Pillow and the fonts never load in the
scan path; a campaign's bulk pre-render arrives here ten posters a batch."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.campaigns.poster_jobs import PosterRenderer
from siyu.campaigns.repository import job_of

logger = Logger(service="poster")
processor = BatchProcessor(event_type=EventType.SQS)
renderer = PosterRenderer.from_environment()


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
