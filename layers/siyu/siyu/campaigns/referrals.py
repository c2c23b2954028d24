"""The scan path's side of fission campaigns: a scan through a participant's poster
(``?r=<campaign>.<participant>``) is handed to the campaign worker as one SQS message. The
scan function stays light: no campaign reads, no anti-fraud rules, no Pillow."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from siyu.campaigns.rules import parse_referral
from siyu.core.clock import to_precise_iso
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
