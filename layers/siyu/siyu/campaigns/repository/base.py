"""What every campaign record family shares: the table, its keys, reads by key and by prefix."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from siyu.storage import aws
from siyu.storage.codec import Item, s
from siyu.storage.due_queue import DueQueue
from siyu.storage.paging import TABLE_KEYS, query_all, query_page

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

CAMPAIGN_SK = "CAMPAIGN"
INVITE_DUE = "INVITE"
REWARD_DUE = "REWARD"


class TableBase:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name
        self._invite_queue = DueQueue(client, table_name, INVITE_DUE)
        self._reward_queue = DueQueue(client, table_name, REWARD_DUE)

    @classmethod
    def from_environment[Table: TableBase](cls: type[Table]) -> Table:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    def _get(self, campaign_id: str, sk: str) -> Item | None:
        key = self._key(campaign_id, sk)
        item = self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        return dict(item) if item else None

    def _prefix_query(self, campaign_id: str, prefix: str) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": s(f"CAMPAIGN#{campaign_id}"), ":prefix": s(prefix)},
        }

    def _all_with_prefix(self, campaign_id: str, prefix: str) -> list[Item]:
        return list(query_all(self._client, {**self._prefix_query(campaign_id, prefix), "ConsistentRead": True}))

    def _page[Record](
        self,
        campaign_id: str,
        prefix: str,
        limit: int,
        cursor: str | None,
        convert: Callable[[Item], Record],
        newest_first: bool = False,
    ) -> tuple[list[Record], str | None]:
        query = {**self._prefix_query(campaign_id, prefix), "Limit": limit, "ScanIndexForward": not newest_first}
        items, next_cursor = query_page(self._client, query, cursor, TABLE_KEYS)
        return [convert(i) for i in items], next_cursor

    @staticmethod
    def _key(campaign_id: str, sk: str) -> Item:
        return {"pk": s(f"CAMPAIGN#{campaign_id}"), "sk": s(sk)}
