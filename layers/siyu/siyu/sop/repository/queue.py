"""The SQS queue between the SOP job and the sender: one message per handed-over delivery,
``{"plan_id": ..., "delivery": <delivery id>}``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from siyu.storage import aws

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import SendMessageBatchRequestEntryTypeDef, SQSClient

QUEUE_BATCH = 10  # SQS takes at most ten messages a call


class DeliveryQueue:
    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._url = queue_url

    @classmethod
    def from_environment(cls) -> DeliveryQueue:
        return cls(aws.sqs(), os.environ["SOP_QUEUE_URL"])

    def send(self, deliveries: Sequence[tuple[str, str]]) -> None:
        """Put (plan id, delivery id) pairs on the queue, ten a call. A message the queue refuses
        is not retried here: the job hands its delivery over again once the hand-over runs out."""
        for start in range(0, len(deliveries), QUEUE_BATCH):
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": str(i), "MessageBody": json.dumps({"plan_id": plan_id, "delivery": delivery_id})}
                for i, (plan_id, delivery_id) in enumerate(deliveries[start : start + QUEUE_BATCH])
            ]
            self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
