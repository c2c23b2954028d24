"""A visitor's segment membership, as the scan path reads it for precise-group routing: one
GetItem of one attribute (``segments``) of the visitor's profile item (``PROFILE#<vid>`` /
``PROFILE``, written by ``profiles_repository``). Light on purpose: the scan function loads it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from siyu.storage import aws
from siyu.storage.codec import Item, s

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient


def profile_key(visitor_id: str) -> Item:
    return {"pk": s(f"PROFILE#{visitor_id}"), "sk": s("PROFILE")}


class SegmentMembership:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls, fast: bool = False) -> SegmentMembership:
        return cls(aws.dynamodb_for_scans() if fast else aws.dynamodb(), os.environ["TABLE_NAME"])

    def segments_of(self, visitor_id: str) -> frozenset[str]:
        item = self._client.get_item(
            TableName=self._table,
            Key=profile_key(visitor_id),
            ProjectionExpression="#segments",
            ExpressionAttributeNames={"#segments": "segments"},  # a reserved word
        ).get("Item", {})
        return frozenset(item.get("segments", {}).get("SS", []))
