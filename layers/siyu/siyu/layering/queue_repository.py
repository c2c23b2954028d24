"""The layering queue (SQS, ``LAYERING_QUEUE_URL``): a new segment's backfill handed over from the
admin request to the layering job, one message per time budget: ``{"backfill": <segment id>,
"cursor": <where the pass stopped>}``."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from siyu.storage import aws

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import SQSClient


class LayeringQueue:
    def __init__(self, client: SQSClient, queue_url: str):
        self._client = client
        self._url = queue_url

    @classmethod
    def from_environment(cls) -> LayeringQueue | None:
        url = os.environ.get("LAYERING_QUEUE_URL", "")
        return cls(aws.sqs(), url) if url else None

    def backfill_later(self, segment_id: str, cursor: str) -> None:
        body = json.dumps({"backfill": segment_id, "cursor": cursor})
        self._client.send_message(QueueUrl=self._url, MessageBody=body)
