"""Customer layering's job: on its daily schedule (EventBridge), WeCom's group activity for the
running flash groups (their 活跃率) and the segments' daily re-check; from the layering queue (SQS),
a new segment's backfill, one time budget per message (the rest queued again)."""

import json

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.layering.flash_repository import FlashTable
from siyu.layering.job import LayeringJob
from siyu.layering.profiles_repository import ProfilesTable
from siyu.layering.queue_repository import LayeringQueue
from siyu.layering.segments import Segments
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contact_tagger import WecomContactTagger
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.group_activity import WecomGroupActivity
from siyu.wecom.repository import WecomTable

BACKFILL_BUDGET_SECONDS = 200  # of the function's 300 s timeout

logger = Logger(service="layering_job")
processor = BatchProcessor(event_type=EventType.SQS)
connections = WecomConnections(WecomTable.from_environment(), CredentialsStore.from_environment())
activity, tagger = WecomGroupActivity(connections), WecomContactTagger(connections)
queue = LayeringQueue.from_environment()
job = LayeringJob(
    FlashTable.from_environment(),
    ContactsTable.from_environment(),
    lambda: activity if activity.connected() else None,
    Segments(ProfilesTable.from_environment(), tagger=lambda: tagger if tagger.connected() else None),
)


def backfill_one(record) -> int:
    message = json.loads(record.body)
    later = queue.backfill_later if queue is not None else lambda *_: None
    joined = job.backfill(message["backfill"], message["cursor"], later, BACKFILL_BUDGET_SECONDS)
    logger.info("segment backfill", extra={"segment_id": message["backfill"], "joined": joined})
    return joined


@logger.inject_lambda_context
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event=event, record_handler=backfill_one, processor=processor, context=context)
    report = job.run()
    logger.info("layering job", extra=report)
    return report
