"""The poster queue: participants whose poster the poster function should render."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from siyu.campaigns.records import PosterJob
from siyu.storage import aws

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import SQSClient

BATCH = 10  # SQS takes ten messages a call


@dataclass
class PosterQueue:
    queue_url: str | None  # None: posters are not rendered in this deployment
    client: SQSClient | None = None

    @classmethod
    def from_environment(cls) -> PosterQueue:
        return cls(os.environ.get("POSTER_QUEUE_URL") or None)

    def request(self, jobs: list[PosterJob]) -> int:
        """Hand `jobs` to the poster function; how many were queued."""
        if not self.queue_url or not jobs:
            return 0
        client = self.client or aws.sqs()
        for start in range(0, len(jobs), BATCH):
            entries: list[Any] = [
                {"Id": str(i), "MessageBody": json.dumps(job_message(job))}
                for i, job in enumerate(jobs[start : start + BATCH])
            ]
            client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        return len(jobs)


def job_message(job: PosterJob) -> dict[str, str]:
    return {"campaign_id": job.campaign_id, "participant_id": job.participant_id}


def job_of(body: str) -> PosterJob:
    """The job a poster queue message carries."""
    message = json.loads(body)
    return PosterJob(str(message["campaign_id"]), str(message["participant_id"]))
