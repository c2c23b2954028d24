"""SOP function (EventBridge, every minute): expands the plans that are due into deliveries
and hands the due deliveries to the send queue. Safe to run twice or concurrently."""

from dataclasses import asdict

from aws_lambda_powertools import Logger

from siyu.live_codes.repository import CodesTable
from siyu.sop.job import SopJob
from siyu.sop.repository import DeliveryQueue, SopTable

logger = Logger(service="sop")
job = SopJob(SopTable.from_environment(), CodesTable.from_environment(), DeliveryQueue.from_environment())


@logger.inject_lambda_context
def lambda_handler(event, context):
    report = asdict(job.run())
    logger.info("sop run", extra=report)
    return report
