"""Rotation function (EventBridge schedule): switches, runway and operator alerts for every
code that is due. Safe to run twice or concurrently (each code is leased)."""

from aws_lambda_powertools import Logger

from siyu.alerts.rotation import RotationJob

logger = Logger(service="rotate")
job = RotationJob.from_environment()


@logger.inject_lambda_context
def lambda_handler(event, context):
    report = job.run()
    logger.info("rotation run", extra=report.as_dict())
    return report.as_dict()
