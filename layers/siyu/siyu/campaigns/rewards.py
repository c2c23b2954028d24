"""Telling the brand's coupon system about a reward: a signed webhook with an Idempotency-Key (the
reward id), at least once. Only the campaign worker sends it (an SQS message or the minute's
schedule): never a public page, so a slow coupon system never slows or fails a join. A failure is
retried by `delivery/retry.py`'s policy for reward webhooks, then recorded as failed (an operator
can resend)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from siyu.campaigns.ports import CampaignStore
from siyu.campaigns.rules import Campaign
from siyu.core.clock import to_precise_iso
from siyu.delivery.outcome import SendOutcome
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import DeliveryFailed, send_webhook

NOTIFY_LEASE = timedelta(minutes=1)


def notify(
    table: CampaignStore,
    campaign_of: Callable[[str], Campaign],
    retry: RetryPolicy,
    campaign_id: str,
    reward_id: str,
    now: datetime,
) -> str:
    """Send one reward's notification if it is due and no other sender holds it; the outcome."""
    reward = table.claim_notify(campaign_id, reward_id, now, NOTIFY_LEASE)
    if reward is None:
        return "not_due"
    campaign = campaign_of(campaign_id)
    if not campaign.reward_webhook_url:
        table.record_notify(campaign_id, reward_id, SendOutcome("none", now))
        return "none"
    payload: dict[str, Any] = {
        "event": "reward.granted",
        "reward_id": f"{campaign_id}:{reward_id}",
        "campaign_id": campaign_id,
        "campaign_name": campaign.name,
        "participant_id": reward.participant_id,
        "nickname": reward.nickname,
        "level": reward.level,
        "reward": reward.reward,
        "invites": reward.invites,
        "granted_at": reward.created_at,
        "sent_at": to_precise_iso(now),
    }
    try:
        send_webhook(
            campaign.reward_webhook_url,
            campaign.reward_webhook_secret,
            "reward_granted",
            payload,
            idempotency_key=f"{campaign_id}:{reward_id}",
        )
    except DeliveryFailed as error:
        retry_at = retry.next_attempt(reward.attempts + 1, now)
        if retry_at is None:
            table.record_notify(campaign_id, reward_id, SendOutcome("failed", now, str(error)))
            return "failed"
        table.record_notify(campaign_id, reward_id, SendOutcome("retry", now, str(error), retry_at))
        return "retry"
    table.record_notify(campaign_id, reward_id, SendOutcome("delivered", now))
    return "delivered"
