"""Rewards: created once per participant and tier, each taking one from its tier's stock in the
same transaction (``granted < stock``); their webhook notification, queued in the due index."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from siyu.campaigns.records import Reward
from siyu.campaigns.repository.base import TableBase
from siyu.campaigns.rules import GRANTED, OUT_OF_STOCK, Campaign, Participant, Tier
from siyu.core.clock import to_precise_iso
from siyu.delivery.outcome import SendOutcome
from siyu.storage.codec import (
    TRANSACTION_CANCELED,
    Item,
    cancellation_reasons,
    condition_failed,
    error_code,
    n,
    number,
    s,
    text,
)

FIRST_NOTIFY_DELAY = timedelta(minutes=2)  # the grant sends at once; the queue is the safety net
CONDITION = "ConditionalCheckFailed"


class RewardRecords(TableBase):
    def grant_reward(self, campaign: Campaign, participant: Participant, tier: Tier, now: datetime) -> str | None:
        """Create the participant's reward for `tier` once, taking one from its stock in the
        same transaction: GRANTED, OUT_OF_STOCK (recorded too), or None if it existed."""
        reward_id = f"{participant.id}#{tier.level}"
        item = {
            **self._key(campaign.id, f"REWARD#{reward_id}"),
            "participant_id": s(participant.id),
            "nickname": s(participant.nickname),
            "level": n(tier.level),
            "reward": s(tier.reward),
            "invites": n(tier.invites),
            "status": s(GRANTED),
            "created_at": s(to_precise_iso(now)),
            "notify_status": s("pending" if campaign.reward_webhook_url else "none"),
            "attempts": n(0),
        }
        queued = item
        if campaign.reward_webhook_url:
            first = now + FIRST_NOTIFY_DELAY
            queued = {**item, **self._reward_queue.schedule(first, self._due_at(first, campaign.id, reward_id))}
        put: dict[str, Any] = {
            "Put": {"TableName": self._table, "Item": queued, "ConditionExpression": "attribute_not_exists(pk)"}
        }
        take: dict[str, Any] = {
            "Update": {
                "TableName": self._table,
                "Key": self._key(campaign.id, f"TIER#{tier.level}"),
                "UpdateExpression": "SET granted = granted + :one",
                "ConditionExpression": "granted < stock",
                "ExpressionAttributeValues": {":one": n(1)},
            }
        }
        writes: list[Any] = [put, take]
        try:
            self._client.transact_write_items(TransactItems=writes)
            return GRANTED
        except ClientError as error:
            if error_code(error) != TRANSACTION_CANCELED:
                raise
            reasons = cancellation_reasons(error)
            if reasons and reasons[0] == CONDITION:
                return None
            if len(reasons) < 2 or reasons[1] != CONDITION:
                raise
        sold_out = {**item, "status": s(OUT_OF_STOCK), "notify_status": s("none")}
        try:
            self._client.put_item(TableName=self._table, Item=sold_out, ConditionExpression="attribute_not_exists(pk)")
            return OUT_OF_STOCK
        except ClientError as error:
            if condition_failed(error):
                return None
            raise

    def reward(self, campaign_id: str, reward_id: str) -> Reward | None:
        item = self._get(campaign_id, f"REWARD#{reward_id}")
        return reward_of(item) if item else None

    def rewards(self, campaign_id: str, limit: int, cursor: str | None) -> tuple[list[Reward], str | None]:
        return self._page(campaign_id, "REWARD#", limit, cursor, reward_of)

    def rewards_of(self, campaign_id: str, participant_id: str) -> list[Reward]:
        return [reward_of(i) for i in self._all_with_prefix(campaign_id, f"REWARD#{participant_id}#")]

    def claim_notify(self, campaign_id: str, reward_id: str, now: datetime, lease: timedelta) -> Reward | None:
        """Take a pending notification for `lease` (one sender at a time), or None if it is
        delivered, failed, or another sender holds it."""
        item = self._reward_queue.claim(
            self._key(campaign_id, f"REWARD#{reward_id}"),
            now,
            lease,
            condition="notify_status IN (:pending, :retry)",
            values={":pending": s("pending"), ":retry": s("retry")},
            return_item=True,
        )
        return reward_of(item) if item else None

    def record_notify(self, campaign_id: str, reward_id: str, outcome: SendOutcome) -> None:
        """One notification attempt: delivered, retry (due again at retry_at) or failed; the
        lease is dropped."""
        values: dict[str, Any] = {":status": s(outcome.status), ":at": s(to_precise_iso(outcome.at)), ":one": n(1)}
        sets, removes = ["notify_status = :status", "notified_at = :at"], ["lease_until"]
        if outcome.error:
            values[":error"] = s(outcome.error[:500])
            sets.append("last_error = :error")
        if outcome.retry_at is not None:
            due = self._reward_queue.schedule(outcome.retry_at, self._due_at(outcome.retry_at, campaign_id, reward_id))
            values.update({":due_pk": due["due_pk"], ":due_at": due["due_at"]})
            sets += ["due_pk = :due_pk", "due_at = :due_at"]
        else:
            removes += ["due_pk", "due_at"]
        self._client.update_item(
            TableName=self._table,
            Key=self._key(campaign_id, f"REWARD#{reward_id}"),
            UpdateExpression=f"SET {', '.join(sets)} ADD attempts :one REMOVE {', '.join(removes)}",
            ExpressionAttributeValues=values,
        )

    def requeue_notify(self, campaign_id: str, reward_id: str, now: datetime) -> bool:
        """Make a failed (or delivered) notification of a granted reward due again (an operator's resend)."""
        due = self._reward_queue.schedule(now, self._due_at(now, campaign_id, reward_id))
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(campaign_id, f"REWARD#{reward_id}"),
                UpdateExpression="SET notify_status = :pending, attempts = :zero, due_pk = :due_pk, due_at = :due_at",
                ConditionExpression="#status = :granted AND notify_status IN (:failed, :delivered)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":pending": s("pending"),
                    ":granted": s(GRANTED),
                    ":zero": n(0),
                    ":failed": s("failed"),
                    ":delivered": s("delivered"),
                    ":due_pk": due["due_pk"],
                    ":due_at": due["due_at"],
                },
            )
            return True
        except ClientError as error:
            if condition_failed(error):
                return False
            raise

    def due_notifications(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(campaign, reward) of notifications due by `now`."""
        for item in self._reward_queue.due(now, projection="due_at", upper="~"):
            _, campaign_id, reward_id = item["due_at"]["S"].split("#", 2)
            yield campaign_id, reward_id

    @staticmethod
    def _due_at(at: datetime, campaign_id: str, reward_id: str) -> str:
        """The queue's due_at: the instant, then what is due (so the index alone names it)."""
        return f"{to_precise_iso(at)}#{campaign_id}#{reward_id}"


def reward_of(item: Item) -> Reward:
    return Reward(
        id=item["sk"]["S"].removeprefix("REWARD#"),
        participant_id=item["participant_id"]["S"],
        nickname=item["nickname"]["S"],
        level=number(item, "level"),
        reward=item["reward"]["S"],
        invites=number(item, "invites"),
        status=item["status"]["S"],
        created_at=item["created_at"]["S"],
        notify_status=item["notify_status"]["S"],
        attempts=number(item, "attempts"),
        notified_at=text(item, "notified_at"),
        last_error=text(item, "last_error"),
    )
