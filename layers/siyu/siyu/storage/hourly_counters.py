"""Hourly counters that hold a limit: one item per thing counted and hour (``sk = RATE``), added to
with one conditional ``ADD`` that is refused (nothing written) when it would take the count past the
limit, and gone on their own by TTL (``expires_at``). The per-client scan limit and the campaigns'
hourly limits both count this way."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from siyu.storage.codec import condition_failed, n, s

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient


def add_within_limit(
    client: DynamoDBClient, table: str, pk: str, count: int, limit: int, expires: datetime, attribute: str = "n"
) -> bool:
    """Add `count` to the counter `pk` unless its total would pass `limit`; whether it was added."""
    if count > limit:
        return False
    try:
        client.update_item(
            TableName=table,
            Key={"pk": s(pk), "sk": s("RATE")},
            UpdateExpression="ADD #count :count SET expires_at = :expires",
            ConditionExpression="attribute_not_exists(#count) OR #count <= :most",
            ExpressionAttributeNames={"#count": attribute},
            ExpressionAttributeValues={
                ":count": n(count),
                ":most": n(limit - count),
                ":expires": n(int(expires.timestamp())),
            },
        )
    except ClientError as error:
        if condition_failed(error):
            return False
        raise
    return True
