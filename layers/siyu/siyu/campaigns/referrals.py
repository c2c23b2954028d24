"""What the campaign worker is handed (SQS): a scan through a participant's poster
(``?r=<campaign>.<participant>``, from the scan path: no campaign reads, no anti-fraud rules, no
Pillow), and WeCom adds and deletes through a participant's own contact way (from the WeCom
worker: kinds ``wecom_add`` and ``wecom_delete``)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from siyu.campaigns.rules import WecomAdd, parse_referral
from siyu.core.clock import from_iso, to_precise_iso
from siyu.storage import aws


def campaign_href(referral: str | None) -> str | None:
    """Where a friend's poster sends someone who wants their own: the campaign's page."""
    parsed = parse_referral(referral)
    return f"/c/{parsed[0]}?r={quote(referral or '')}" if parsed else None


def referral_message(
    referral: str, visitor_id: str, first_visit: bool, address_hash: str, at: datetime
) -> dict[str, str | bool]:
    """The worker's message for a referral scan (`referral` parses: ReferralQueue checked it)."""
    parsed = parse_referral(referral)
    if parsed is None:
        raise ValueError(f"not a referral: {referral[:80]!r}")
    campaign_id, referrer_id = parsed
    return {
        "kind": "referral",
        "campaign_id": campaign_id,
        "referrer_id": referrer_id,
        "visitor_id": visitor_id,
        "first_visit": first_visit,
        "address_hash": address_hash,
        "at": to_precise_iso(at),
    }


def wecom_message(
    kind: str, campaign_id: str, participant_id: str, external_user_id: str, user_id: str, at: datetime
) -> dict[str, str | bool]:
    return {
        "kind": kind,
        "campaign_id": campaign_id,
        "participant_id": participant_id,
        "external_userid": external_user_id,
        "userid": user_id,
        "at": to_precise_iso(at),
    }


def wecom_add_of(message: dict[str, Any]) -> WecomAdd:
    """The add a ``wecom_add`` message carries."""
    return WecomAdd(
        campaign_id=str(message["campaign_id"]),
        referrer_id=str(message["participant_id"]),
        external_user_id=str(message["external_userid"]),
        user_id=str(message["userid"]),
        at=from_iso(str(message["at"])),
        new_to_brand=not bool(message["not_new_to_brand"]),
    )


@dataclass
class ReferralQueue:
    queue_url: str | None

    @classmethod
    def from_environment(cls) -> ReferralQueue:
        return cls(os.environ.get("CAMPAIGN_QUEUE_URL") or None)

    def hand_over(self, referral: str, visitor_id: str, first_visit: bool, address_hash: str, at: datetime) -> bool:
        """Send one referral scan to the campaign worker; False if it names no campaign."""
        if not self.queue_url or parse_referral(referral) is None:
            return False
        body = referral_message(referral, visitor_id, first_visit, address_hash, at)
        aws.sqs_for_scans().send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))
        return True

    def hand_over_add(
        self, campaign_id: str, participant_id: str, external_user_id: str, user_id: str, at: datetime, new: bool
    ) -> None:
        """A customer added a guide through a participant's contact way (the WeCom worker)."""
        body = wecom_message("wecom_add", campaign_id, participant_id, external_user_id, user_id, at)
        self._send({**body, "not_new_to_brand": not new})

    def hand_over_delete(
        self, campaign_id: str, participant_id: str, external_user_id: str, user_id: str, at: datetime
    ) -> None:
        """That follow was deleted (by the customer or the guide)."""
        self._send(wecom_message("wecom_delete", campaign_id, participant_id, external_user_id, user_id, at))

    def _send(self, body: dict[str, str | bool]) -> None:
        if not self.queue_url:
            raise RuntimeError("CAMPAIGN_QUEUE_URL is not set: the campaign worker cannot be told of WeCom adds")
        aws.sqs().send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))
