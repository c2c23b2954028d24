"""SOP send function (SQS): sends each handed-over delivery once (a 企业群发 one: makes its task,
then, each time it comes back while awaiting staff, reads its results). A message whose processing
fails (storage trouble) is reported back alone (partial batch response) and comes again; a
failed send is not an error here: the delivery records it and is retried with backoff."""

import json
import os
from datetime import timedelta

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.delivery.retry import SOP_PUSH_RETRY, RetryPolicy
from siyu.live_codes.repository import CodesTable
from siyu.sop.repository import SopTable
from siyu.sop.sender import SopSender
from siyu.storage.signing_key import SigningKey
from siyu.storage.uploads_bucket import UploadsBucket
from siyu.wecom.app_messages import WecomAppMessages
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.group_messages import WecomGroupMessages
from siyu.wecom.repository import WecomTable

logger = Logger(service="sop_send")
processor = BatchProcessor(event_type=EventType.SQS)
connections = WecomConnections(WecomTable.from_environment(), CredentialsStore.from_environment())
sender = SopSender(
    SopTable.from_environment(),
    CodesTable.from_environment(),
    UploadsBucket.from_environment(),
    RetryPolicy.from_environment(SOP_PUSH_RETRY),
    chats=ContactsTable.from_environment(),
    messenger=WecomGroupMessages(connections),
    # How often a 企业群发 task's results are read while its sender has not confirmed (default 15 min).
    check_every=timedelta(seconds=int(os.environ.get("SOP_GROUPMSG_CHECK_SECONDS") or 900)),
    # Reminder mode: the guides' WeCom app messages, and the task links (signed; their base URL).
    reminders=WecomAppMessages(connections),
    signing_key=SigningKey.from_environment().get,
    task_base_url=lambda: os.environ.get("TASK_PAGE_BASE_URL", ""),
)


def send_one(record) -> str:
    message = json.loads(record.body)
    outcome = sender.send(message["plan_id"], message["delivery"])
    logger.info("delivery", extra={"plan_id": message["plan_id"], "delivery": message["delivery"], "outcome": outcome})
    return outcome


@logger.inject_lambda_context
def lambda_handler(event, context):
    return process_partial_response(event=event, record_handler=send_one, processor=processor, context=context)
