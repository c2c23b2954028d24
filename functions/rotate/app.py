"""Rotation function (EventBridge schedule): switches, runway and operator alerts for every
code that is due. Safe to run twice or concurrently (each code is leased)."""

import os
from dataclasses import asdict

from aws_lambda_powertools import Logger

from siyu.alerts.repository import AlertsTable, AlertTopic
from siyu.alerts.rotation import RotationJob
from siyu.alerts.watch_repository import WatchTable
from siyu.alerts.watch_rules import WatchSettings
from siyu.delivery.retry import ALERT_RETRY, RetryPolicy
from siyu.wecom.contacts_repository import ContactsTable

logger = Logger(service="rotate")
hours = tuple(int(h) for h in os.environ.get("EXPIRY_WARNING_HOURS", "48,24").split(",") if h.strip())
job = RotationJob(
    WatchTable.from_environment(),
    AlertsTable.from_environment(),
    AlertTopic.from_environment(),
    WatchSettings(tuple(sorted(hours, reverse=True)), float(os.environ.get("RUNWAY_ALERT_HOURS", "24"))),
    RetryPolicy.from_environment(ALERT_RETRY),
    groups=ContactsTable.from_environment(),  # join-way groups filling up or made by WeCom
)


@logger.inject_lambda_context
def lambda_handler(event, context):
    report = asdict(job.run())
    logger.info("rotation run", extra=report)
    return report
