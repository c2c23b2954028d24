"""WeCom worker: each verified callback event (SQS, from the callback function) processed once:
contacts, group members, welcome messages, tags and the funnel's counts. A message whose
processing fails (storage or WeCom trouble) is reported back alone and comes again; the event's
claim and the conditional writes make a second pass harmless. On a schedule (EventBridge),
every known customer group is read again to make up for callbacks WeCom never delivered."""

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response

from siyu.campaigns.referrals import ReferralQueue
from siyu.core.clock import utcnow
from siyu.layering.answers import default_token_lifetime, with_contact_token
from siyu.live_codes.repository import CodesTable
from siyu.statistics.repository import StatsTable
from siyu.storage.signing_key import SigningKey
from siyu.wecom.connection import WecomConnections
from siyu.wecom.contacts_repository import ContactsTable
from siyu.wecom.credentials_repository import CredentialsStore
from siyu.wecom.events_worker import EventsWorker
from siyu.wecom.referral_events import ReferralEvents
from siyu.wecom.repository import WecomTable

logger = Logger(service="wecom_worker")
processor = BatchProcessor(event_type=EventType.SQS)
table = WecomTable.from_environment()
connections = WecomConnections(table, CredentialsStore.from_environment())
codes = CodesTable.from_environment()
signing_key = SigningKey.from_environment()
contacts = ContactsTable.from_environment()
worker = EventsWorker(
    ledger=table,
    contacts=contacts,
    codes=codes,
    stats=StatsTable.from_environment(),
    client=connections.client,
    rotation=codes,  # a join-way group filling up (or made by WeCom) wakes the rotation job
    # adds and deletes through campaign participants' contact ways go to the campaign worker
    referrals=ReferralEvents(table, contacts, ReferralQueue.from_environment(), connections.client),
    # a questionnaire linked in the welcome message: its link carries the contact (answers tag them)
    link_for=lambda url, external, user: with_contact_token(
        url, external, user, signing_key.get(), utcnow() + default_token_lifetime()
    ),
)


def handle_event(record) -> str:
    outcome = worker.handle(record.body.encode("utf-8"))
    logger.info("wecom event", extra={"outcome": outcome})
    return outcome


@logger.inject_lambda_context
def lambda_handler(event, context):
    if "Records" in event:
        return process_partial_response(event=event, record_handler=handle_event, processor=processor, context=context)
    if connections.current() is None:  # the schedule, before any corp is connected
        return {"reconciled": None}
    totals = worker.reconcile()
    logger.info("reconciled", extra=totals)
    return {"reconciled": totals}
