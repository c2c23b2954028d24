"""The scan counters of live codes in the DynamoDB table (the scan path's writes).

    pk = CODE#<code_id>   sk = SCANS#<target_id>#<k> counter shard k of a target: scans, day:<date>
    pk = CODE#<code_id>   sk = SCANS#fallback#<k>    scans that found no usable target
    pk = RATE#SCAN#<code_id>#<address_hash>#<hour>   sk = RATE   one client's counted visits
         that hour (``client_limit``), TTL ``expires_at`` a day later

They live apart from the code's config item so scans never contend with edits, and each
target's count is spread over up to 16 shard items (see ``assignment``): a hot code never
funnels its scans into one item. ``CodesTable`` (``repository``) reads them with the config in
one Query and offers these writes under their old names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.live_codes.assignment import Counters, ShardCount
from siyu.storage.codec import Item, condition_failed, n, remove_clause, s
from siyu.storage.hourly_counters import add_within_limit
from siyu.storage.paging import query_all

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

SCANS_PREFIX = "SCANS#"
DAY_PREFIX = "day:"
FALLBACK = "fallback"


@dataclass(frozen=True)
class ScanCount:
    """One scan to count on shard `shard` of a target, under the shard's quotas (lifetime
    `total_quota`, `daily_quota` for `day`); day counts in `stale_days` go on the way."""

    code_id: str
    target_id: str
    shard: int
    day: str
    total_quota: int | None
    daily_quota: int | None
    stale_days: Sequence[str] = ()


def code_pk(code_id: str) -> str:
    return f"CODE#{code_id}"


def counter_key(code_id: str, target_id: str, shard: int | None) -> Item:
    """A counter shard's key; shard None is the counter from before sharding."""
    sk = SCANS_PREFIX + target_id if shard is None else f"{SCANS_PREFIX}{target_id}#{shard}"
    return {"pk": s(code_pk(code_id)), "sk": s(sk)}


def add_counter(counters: Counters, item: Item) -> None:
    """Put one counter item (sk ``SCANS#...``) into `counters`."""
    target_id, shard = _counter_of(item["sk"]["S"])
    counters.shards.setdefault(target_id, {})[shard] = shard_count(item)


def shard_count(item: Item) -> ShardCount:
    days = {k[len(DAY_PREFIX) :]: int(v["N"]) for k, v in item.items() if k.startswith(DAY_PREFIX)}
    return ShardCount(int(item.get("scans", {}).get("N", "0")), days)


def _counter_of(sk: str) -> tuple[str, int]:
    """(target id, shard) of a counter item; a counter from before sharding is shard -1 (still
    counted in the totals, never written again)."""
    rest = sk[len(SCANS_PREFIX) :]
    target_id, _, shard = rest.partition("#")
    return target_id, int(shard) if shard else -1


class ScanCounters:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    def totals(self, code_id: str) -> dict[str, int]:
        """Scans per target (and ``fallback``), summed over the shards."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :scans)",
            "ExpressionAttributeValues": {":pk": s(code_pk(code_id)), ":scans": s(SCANS_PREFIX)},
        }
        counters = Counters()
        for item in query_all(self._client, query):
            add_counter(counters, item)
        return counters.totals()

    def count_scan(self, scan: ScanCount) -> ShardCount | None:
        """Count one scan on its shard, if the shard is under its quotas.

        Returns the shard's new counts, or None when it was already full (nothing written).
        One conditional UpdateItem: atomic, so concurrent scans never overshoot. Day counts
        in `stale_days` are removed on the way (the item stays small)."""
        names = {"#day": DAY_PREFIX + scan.day}
        values = {":one": n(1)}
        conditions = []
        if scan.total_quota is not None:
            conditions.append("(attribute_not_exists(scans) OR scans < :total_quota)")
            values[":total_quota"] = n(scan.total_quota)
        if scan.daily_quota is not None:
            conditions.append("(attribute_not_exists(#day) OR #day < :daily_quota)")
            values[":daily_quota"] = n(scan.daily_quota)
        update = "ADD scans :one, #day :one"
        update += remove_clause(names, [DAY_PREFIX + d for d in scan.stale_days if d != scan.day])
        condition: dict[str, Any] = {"ConditionExpression": " AND ".join(conditions)} if conditions else {}
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=counter_key(scan.code_id, scan.target_id, scan.shard),
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **condition,
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return shard_count(answer["Attributes"])

    def count_fallback(self, code_id: str, shard: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=counter_key(code_id, FALLBACK, shard),
            UpdateExpression="ADD scans :one",
            ExpressionAttributeValues={":one": n(1)},
        )


CLIENT_COUNT_RETENTION = timedelta(days=1)


class ClientCounts:
    """The per-client limit's shared hourly counters (written only for clients that come back often)."""

    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    def add_client_visits(self, code_id: str, address: str, hour: str, count: int, limit: int, now: datetime) -> bool:
        pk = f"RATE#SCAN#{code_id}#{address}#{hour}"
        expires = now + CLIENT_COUNT_RETENTION
        return add_within_limit(self._client, self._table, pk, count, limit, expires, attribute="visits")
