"""The template's SQS event sources, locally: batches from the emulated queue are handed to the
function as Lambda's poller would (an SQS event), and the messages it did not report as
failed (ReportBatchItemFailures) are deleted; failed ones come back after the visibility timeout."""

from __future__ import annotations

import hashlib
import logging
import threading

import boto3

from local_stack.functions import LocalFunction
from local_stack.template import ACCOUNT, REGION, QueueSubscription

logger = logging.getLogger("local_stack.queues")
POLL_PAUSE_SECONDS = 0.5


def sqs_event(queue: str, messages: list[dict]) -> dict:
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}",
                "awsRegion": REGION,
            }
            for m in messages
        ]
    }


class QueuePollers:
    def __init__(self, subscriptions: list[QueueSubscription], functions: dict[str, LocalFunction]):
        self.subscriptions = subscriptions
        self.functions = functions
        self._stop = threading.Event()
        self._sqs = None
        self._urls: dict[str, str] = {}

    @property
    def sqs(self):
        if self._sqs is None:
            self._sqs = boto3.client("sqs")
        return self._sqs

    def drain(self, function_id: str | None = None) -> int:
        """Hand every waiting message to its function now; returns how many were handed over."""
        handed = 0
        for subscription in self.subscriptions:
            if function_id in (None, subscription.function_id):
                while count := self._poll(subscription, wait_seconds=0):
                    handed += count
        return handed

    def start(self) -> None:
        for subscription in self.subscriptions:
            threading.Thread(
                target=self._forever, args=(subscription,), daemon=True, name=f"sqs-{subscription.function_id}"
            ).start()

    def stop(self) -> None:
        self._stop.set()

    def _forever(self, subscription: QueueSubscription) -> None:
        # Short polls with a pause between them: the emulator answers one call at a time, and a
        # long poll would hold every other call (a scan's, with its half-second timeout) behind it.
        pause = POLL_PAUSE_SECONDS
        while not self._stop.is_set():
            try:
                if self._poll(subscription, wait_seconds=0):
                    pause = POLL_PAUSE_SECONDS
                else:  # idle: back off (up to a second), leaving the emulator to the scans
                    self._stop.wait(pause)
                    pause = min(pause * 2, 1.0)
            except Exception:
                logger.exception("polling %s for %s failed", subscription.queue, subscription.function_id)
                self._stop.wait(1)

    def _poll(self, subscription: QueueSubscription, wait_seconds: int) -> int:
        url = self._urls.get(subscription.queue)
        if url is None:
            url = self._urls[subscription.queue] = self.sqs.get_queue_url(QueueName=subscription.queue)["QueueUrl"]
        messages = self.sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=min(subscription.batch_size, 10),
            WaitTimeSeconds=wait_seconds,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        try:
            answer = self.functions[subscription.function_id].invoke(sqs_event(subscription.queue, messages)) or {}
        except Exception:
            logger.exception(
                "%s failed on a batch; the messages come back after the visibility timeout", subscription.function_id
            )
            return len(messages)
        failed = set()
        if subscription.partial_failures:
            failed = {f["itemIdentifier"] for f in answer.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ]
            self.sqs.delete_message_batch(QueueUrl=url, Entries=entries)
        return len(messages)
