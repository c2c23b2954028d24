"""Customer layering's daily job (EventBridge schedule): WeCom's group activity for the running
flash groups (their 活跃率), and the segments' daily re-check."""

from aws_lambda_powertools import Logger

from siyu.layering.flash_repository import FlashTable
from siyu.layering.job import LayeringJob
from siyu.layering.profiles_repository import ProfilesTable
from siyu.layering.segments import Segments
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contact_tagger import WecomContactTagger
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.group_activity import WecomGroupActivity
from siyu.wecom.repository import WecomTable

logger = Logger(service="layering_job")
connections = WecomConnections(WecomTable.from_environment(), CredentialsStore.from_environment())
activity, tagger = WecomGroupActivity(connections), WecomContactTagger(connections)
job = LayeringJob(
    FlashTable.from_environment(),
    ContactsTable.from_environment(),
    lambda: activity if activity.connected() else None,
    Segments(ProfilesTable.from_environment(), tagger=lambda: tagger if tagger.connected() else None),
)


@logger.inject_lambda_context
def lambda_handler(event, context):
    report = job.run()
    logger.info("layering job", extra=report)
    return report
