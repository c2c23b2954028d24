"""What the campaign worker is handed (SQS): a scan through a participant's poster
(``?r=<campaign>.<participant>``, from the scan path: no campaign reads, no anti-fraud rules, no
Pillow), and WeCom adds and deletes through a participant's own contact way (from the WeCom
worker: kinds ``wecom_add`` and ``wecom_delete``)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from siyu.campaigns.rules import PAGE_FALLBACK, PAGE_TARGET, PAGE_UNCOUNTED, ReferralVisit, WecomAdd, parse_referral
from siyu.core.clock import from_iso, to_precise_iso
from siyu.storage import aws


def campaign_href(referral: str | None) -> str | None:
    """Where a friend's poster sends someone who wants their own: the campaign's page."""
    parsed = parse_referral(referral)
    return f"/c/{parsed[0]}?r={quote(referral or '')}" if parsed else None


@dataclass(frozen=True)
class ScanFacts:
    """What the scan path knows about a referral scan that decides whether it can be an invite
    (see rules.page_view_refusal): the code scanned, the page it showed, the browser, and the
    Sec-Fetch headers as sent (None when absent). The defaults are what counts against an invite."""

    code_id: str = ""
    page: str = ""  # rules.PAGE_TARGET | PAGE_FALLBACK | PAGE_CHOICES
    in_wechat: bool = False
    sec_fetch_dest: str | None = None
    sec_fetch_mode: str | None = None


def scan_facts(
    code_id: str, showed_target: bool | None, in_wechat: bool, fetch: tuple[str | None, str | None]
) -> ScanFacts:
    """The facts of one scan: the code, whether its page showed a target (False: the fallback; None:
    the scan was not counted, its client over the scan path's hourly limit), the browser, and the
    request's (Sec-Fetch-Dest, Sec-Fetch-Mode) as sent."""
    page = PAGE_UNCOUNTED if showed_target is None else PAGE_TARGET if showed_target else PAGE_FALLBACK
    return ScanFacts(code_id, page, in_wechat, *fetch)


def referral_message(
    referral: str, visitor_id: str, first_visit: bool, address_hash: str, at: datetime, facts: ScanFacts | None = None
) -> dict[str, str | bool | None]:
    """The worker's message for a referral scan (`referral` parses: ReferralQueue checked it)."""
    parsed = parse_referral(referral)
    if parsed is None:
        raise ValueError(f"not a referral: {referral[:80]!r}")
    campaign_id, referrer_id = parsed
    facts = facts or ScanFacts()
    return {
        "kind": "referral",
        "campaign_id": campaign_id,
        "referrer_id": referrer_id,
        "visitor_id": visitor_id,
        "first_visit": first_visit,
        "address_hash": address_hash,
        "at": to_precise_iso(at),
        "code_id": facts.code_id,
        "page": facts.page,
        "in_wechat": facts.in_wechat,
        "sec_fetch_dest": _header(facts.sec_fetch_dest),
        "sec_fetch_mode": _header(facts.sec_fetch_mode),
    }


def _header(value: str | None) -> str | None:
    return None if value is None else value.strip().lower()[:40]


def referral_visit_of(message: dict[str, Any]) -> ReferralVisit:
    """The visit a ``referral`` message carries; a field it lacks (a message from before these
    fields) counts against the invite."""

    def optional(name: str) -> str | None:
        value = message.get(name)
        return None if value is None else str(value)

    return ReferralVisit(
        campaign_id=str(message["campaign_id"]),
        referrer_id=str(message["referrer_id"]),
        visitor_id=str(message["visitor_id"]),
        first_visit=message.get("first_visit") is True,
        address_hash=str(message.get("address_hash") or ""),
        at=from_iso(str(message["at"])),
        code_id=str(message.get("code_id") or ""),
        page=str(message.get("page") or ""),
        in_wechat=message.get("in_wechat") is True,
        sec_fetch_dest=optional("sec_fetch_dest"),
        sec_fetch_mode=optional("sec_fetch_mode"),
    )


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

    def hand_over(
        self,
        referral: str,
        visitor_id: str,
        first_visit: bool,
        address_hash: str,
        at: datetime,
        facts: ScanFacts | None = None,
    ) -> bool:
        """Send one referral scan to the campaign worker; False if it names no campaign."""
        if not self.queue_url or parse_referral(referral) is None:
            return False
        body = referral_message(referral, visitor_id, first_visit, address_hash, at, facts)
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

    def _send(self, body: Mapping[str, str | bool | None]) -> None:
        if not self.queue_url:
            raise RuntimeError("CAMPAIGN_QUEUE_URL is not set: the campaign worker cannot be told of WeCom adds")
        aws.sqs().send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))
