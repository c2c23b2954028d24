"""WeCom campaigns' contact ways: each participant's own way (saved once on the participant), the
counts of live ways (per campaign, and siyu's total against the corp's quota).

    pk = CAMPAIGN#<id>     sk = WAYS   live: this campaign's live referral ways
    pk = CAMPAIGN#WAYS     sk = WAYS   live: every campaign's, reserved before a way is made
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from siyu.campaigns.repository.base import TableBase
from siyu.campaigns.rules import Participant
from siyu.core.clock import to_precise_iso, utcnow
from siyu.storage.codec import TRANSACTION_CANCELED, Item, condition_failed, error_code, n, number, s

WAYS_SK = "WAYS"
ALL_WAYS = {"pk": s("CAMPAIGN#WAYS"), "sk": s(WAYS_SK)}


class WayRecords(TableBase):
    def reserve_way(self, campaign_id: str, limit: int) -> bool:
        """Count one more live way (the campaign's and siyu's total); False at `limit` (nothing counted)."""
        total: dict[str, Any] = {
            "TableName": self._table,
            "Key": ALL_WAYS,
            "UpdateExpression": "ADD live :one",
            "ConditionExpression": "attribute_not_exists(live) OR live < :limit",
            "ExpressionAttributeValues": {":one": n(1), ":limit": n(limit)},
        }
        writes: list[Any] = [{"Update": total}, {"Update": self._count(campaign_id, 1)}]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if error_code(error) == TRANSACTION_CANCELED:
                return False
            raise
        return True

    def release_way(self, campaign_id: str) -> None:
        """One live way fewer (it was deleted in WeCom, or never saved)."""
        total = {"TableName": self._table, "Key": ALL_WAYS, "UpdateExpression": "ADD live :one"}
        writes: list[Any] = [
            {"Update": {**total, "ExpressionAttributeValues": {":one": n(-1)}}},
            {"Update": self._count(campaign_id, -1)},
        ]
        self._client.transact_write_items(TransactItems=writes)

    def ways_in_use(self) -> int:
        item = self._client.get_item(TableName=self._table, Key=ALL_WAYS).get("Item")
        return number(dict(item), "live") if item else 0

    def live_ways(self, campaign_id: str) -> int:
        item = self._get(campaign_id, WAYS_SK)
        return number(item, "live") if item else 0

    def save_way(self, participant: Participant, config_id: str, url: str, state: str) -> bool:
        """Store the participant's contact way, once: False if they have one already."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(participant.campaign_id, f"PART#{participant.id}"),
                UpdateExpression="SET way_config_id = :config, way_url = :url, way_state = :state",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(way_url)",
                ExpressionAttributeValues={":config": s(config_id), ":url": s(url), ":state": s(state)},
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def drop_way(self, participant: Participant) -> bool:
        """The way was deleted in WeCom (the campaign ended): forget its config id (the poster keeps
        its URL, which now leads nowhere). False if it was dropped already."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._key(participant.campaign_id, f"PART#{participant.id}"),
                UpdateExpression="SET way_deleted_at = :at REMOVE way_config_id",
                ConditionExpression="way_config_id = :config",
                ExpressionAttributeValues={
                    ":config": s(participant.way_config_id or ""),
                    ":at": s(to_precise_iso(utcnow())),
                },
            )
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def _count(self, campaign_id: str, delta: int) -> dict[str, Any]:
        key: Item = self._key(campaign_id, WAYS_SK)
        return {
            "TableName": self._table,
            "Key": key,
            "UpdateExpression": "ADD live :delta",
            "ExpressionAttributeValues": {":delta": n(delta)},
        }
