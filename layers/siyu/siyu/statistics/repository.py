"""All access to daily scan statistics in the DynamoDB table.

    pk = STATS#<code_id>#<k>   sk = <YYYY-MM-DD>   shard k (0..31) of one code's day

Attributes are ``<metric>|<dimension>`` counters (see ``siyu.statistics.rules``). Every scan adds to one
shard picked at random: 10,000 scans a second on one code are ~310 writes a second per item,
under DynamoDB's 1,000 per item and partition. Reading a range is one Query per shard.
"""

from __future__ import annotations

import os
import random
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING

from siyu.storage import aws
from siyu.storage.codec import Item, n, s
from siyu.storage.paging import query_all

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

STATS_SHARDS = 32
DayCounters = Counter[str]  # one day of one code: "<metric>|<dimension>" -> count


class StatsTable:
    def __init__(self, client: DynamoDBClient, table_name: str, shards: int = STATS_SHARDS):
        self._client = client
        self._table = table_name
        self._shards = shards

    @classmethod
    def from_environment(cls, fast: bool = False) -> StatsTable:
        return cls(aws.dynamodb_for_scans() if fast else aws.dynamodb(), os.environ["TABLE_NAME"])

    def add(self, code_id: str, day: str, increments: Mapping[str, int], shard: int | None = None) -> None:
        """Add `increments` (metric|dimension -> n) to the code's `day`, in one UpdateItem."""
        shard = random.randrange(self._shards) if shard is None else shard
        names = {f"#a{i}": name for i, name in enumerate(increments)}
        values = {f":v{i}": n(count) for i, count in enumerate(increments.values())}
        self._client.update_item(
            TableName=self._table,
            Key=_key(code_id, shard, day),
            UpdateExpression="ADD " + ", ".join(f"#a{i} :v{i}" for i in range(len(names))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def read(self, code_id: str, first_day: str, last_day: str) -> dict[str, DayCounters]:
        """Day -> counters, summed over the shards, for first_day..last_day inclusive."""
        days: dict[str, DayCounters] = {}
        for shard in range(self._shards):
            query = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
                "ExpressionAttributeValues": {
                    ":pk": s(_pk(code_id, shard)),
                    ":first": s(first_day),
                    ":last": s(last_day),
                },
            }
            for item in query_all(self._client, query):
                day = days.setdefault(item["sk"]["S"], Counter())
                day.update({k: int(v["N"]) for k, v in item.items() if "|" in k and "N" in v})
        return days


def _pk(code_id: str, shard: int) -> str:
    return f"STATS#{code_id}#{shard}"


def _key(code_id: str, shard: int, day: str) -> Item:
    return {"pk": s(_pk(code_id, shard)), "sk": s(day)}
