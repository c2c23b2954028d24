"""SOP function (EventBridge, every minute): expands the plans that are due into deliveries
and hands the due deliveries to the send queue. Safe to run twice or concurrently."""

from dataclasses import asdict

from aws_lambda_powertools import Logger

from siyu.live_codes.repository import CodesTable
from siyu.sop.job import SopJob
from siyu.sop.repository import DeliveryQueue, SopTable
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.group_messages import WecomGroupMessages
from siyu.wecom.repository import WecomTable

logger = Logger(service="sop")
# 企业群发 plans: their groups' owners are read through the connected corp's client.
messenger = WecomGroupMessages(WecomConnections(WecomTable.from_environment(), CredentialsStore.from_environment()))
job = SopJob(
    SopTable.from_environment(),
    CodesTable.from_environment(),
    DeliveryQueue.from_environment(),
    chats=ContactsTable.from_environment(),
    messenger=messenger,
)


@logger.inject_lambda_context
def lambda_handler(event, context):
    report = asdict(job.run())
    logger.info("sop run", extra=report)
    return report
