"""Erasing campaign data from the table: one participant's records, or a whole campaign's
partition, page by page, and the marker that keeps a campaign's erasure going until it is done.

    pk = ERASE#<campaign>  sk = ERASE   a campaign being erased; due_pk=ERASE (the worker resumes it)

A participant's records: their participant item, their visitor link, their rewards, the invite
they were and the invites they made, the refusals that name them; other participants they
referred keep their place but lose the `referred_by` pointing at them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from siyu.campaigns.repository.base import CAMPAIGN_SK, TableBase
from siyu.campaigns.rules import Participant
from siyu.core.clock import to_precise_iso
from siyu.storage.codec import Item, condition_failed, s
from siyu.storage.paging import query_all
from siyu.storage.table import DUE_INDEX

ERASE_DUE = "ERASE"
ERASE_SK = "ERASE"
BATCH = 25  # BatchWriteItem's most
UNPROCESSED_RETRIES = 8


class ErasureRecords(TableBase):
    # -- one participant ------------------------------------------------------------------

    def erase_participant(self, participant: Participant) -> int:
        """Delete the participant's records and unlink those they referred; how many items changed."""
        pid, vid = participant.id, participant.visitor_id
        query: dict[str, Any] = {
            **self._prefix_query(participant.campaign_id, ""),
            "KeyConditionExpression": "pk = :pk",
            "ProjectionExpression": "pk, sk, referrer_id, visitor_id, participant_id, referred_by",
        }
        del query["ExpressionAttributeValues"][":prefix"]
        doomed: list[Item] = []
        referred: list[Item] = []
        own = {f"PART#{pid}", f"VISITOR#{vid}", f"INVITE#{vid}"}
        for item in query_all(self._client, query):
            sk = item["sk"]["S"]
            if sk in own or sk.startswith(f"REWARD#{pid}#") or _names(item, pid, vid):
                doomed.append({"pk": item["pk"], "sk": item["sk"]})
            elif sk.startswith("PART#") and item.get("referred_by", {}).get("S") == pid:
                referred.append({"pk": item["pk"], "sk": item["sk"]})
        self.delete_items(doomed)
        for key in referred:
            self._unlink(key, pid)
        return len(doomed) + len(referred)

    def _unlink(self, key: Item, referrer_id: str) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="REMOVE referred_by",
                ConditionExpression="referred_by = :gone",
                ExpressionAttributeValues={":gone": s(referrer_id)},
            )
        except ClientError as error:
            if not condition_failed(error):  # erased or changed meanwhile: nothing of them is left here
                raise

    # -- a whole campaign ---------------------------------------------------------------------

    def mark_erasing(self, campaign_id: str, now: datetime) -> None:
        """Remember that this campaign is being erased (before anything of it is deleted)."""
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": s(f"ERASE#{campaign_id}"),
                "sk": s(ERASE_SK),
                "campaign_id": s(campaign_id),
                "due_pk": s(ERASE_DUE),
                "due_at": s(to_precise_iso(now)),
            },
        )

    def erasing(self) -> list[str]:
        """Campaigns whose erasure is under way (marked and not finished)."""
        query = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :due",
            "ExpressionAttributeValues": {":due": s(ERASE_DUE)},
        }
        return [i["campaign_id"]["S"] for i in query_all(self._client, query) if "campaign_id" in i]

    def finish_erasing(self, campaign_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": s(f"ERASE#{campaign_id}"), "sk": s(ERASE_SK)})

    def erase_campaign_items(self, campaign_id: str, seconds: float) -> tuple[int, bool]:
        """Delete the campaign's items (the campaign item first, so its pages go at once), page by
        page for at most about `seconds`: (items deleted, whether the partition is empty now)."""
        deadline = time.monotonic() + seconds
        self.delete_items([self._key(campaign_id, CAMPAIGN_SK)])
        deleted = 0
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": s(f"CAMPAIGN#{campaign_id}")},
            "ProjectionExpression": "pk, sk",
            "ConsistentRead": True,
            "Limit": 500,
        }
        while time.monotonic() < deadline:
            keys = self._client.query(**query)["Items"]
            if not keys:
                return deleted, True
            self.delete_items(keys)
            deleted += len(keys)
        return deleted, False

    def delete_items(self, keys: Iterable[Item]) -> None:
        """Delete items by key, 25 a request; what DynamoDB leaves unprocessed is sent again."""
        pending = [{"DeleteRequest": {"Key": dict(key)}} for key in keys]
        for start in range(0, len(pending), BATCH):
            requests: dict[str, Any] = {self._table: pending[start : start + BATCH]}
            for attempt in range(UNPROCESSED_RETRIES):
                left = self._client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
                if not left:
                    break
                requests = dict(left)
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise RuntimeError("DynamoDB kept refusing deletes (throttled); the erasure resumes on the next run")


def _names(item: Item, participant_id: str, visitor_id: str) -> bool:
    """An invite the participant made, a refusal about them (as referrer or visitor)."""
    sk = item["sk"]["S"]
    if not sk.startswith(("INVITE#", "REFUSAL#", "REWARD#")):
        return False
    referrer, owner, visitor = (item.get(a, {}).get("S") for a in ("referrer_id", "participant_id", "visitor_id"))
    return participant_id in (referrer, owner) or (sk.startswith("REFUSAL#") and visitor == visitor_id)
