"""Reading the table more than one item at a time: every page of a query, or one page for the
admin API with the opaque cursor that continues it."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection, Iterator
from typing import TYPE_CHECKING, Any

from siyu.core.errors import InvalidInput

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

LIST_KEYS = frozenset({"pk", "sk", "list_pk", "list_sk"})  # a page of ListIndex
TABLE_KEYS = frozenset({"pk", "sk"})  # a page of the table itself


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_cursor(cursor: str, keys: Collection[str] = LIST_KEYS) -> dict[str, dict[str, str]]:
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        assert isinstance(key, dict) and set(key) == set(keys)
        assert all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
        return key
    except Exception as error:
        raise InvalidInput("cursor is not one this API returned; start again without it") from error


def query_page(
    client: DynamoDBClient, query: dict[str, Any], cursor: str | None, keys: Collection[str] = LIST_KEYS
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of `query` (its Limit), starting where `cursor` left off; the next cursor or None."""
    if cursor:
        query = {**query, "ExclusiveStartKey": decode_cursor(cursor, keys)}
    page = client.query(**query)
    last = page.get("LastEvaluatedKey")
    return page["Items"], encode_cursor(last) if last else None


def query_all(client: DynamoDBClient, query: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item `query` matches, reading page after page."""
    query = dict(query)
    while True:
        page = client.query(**query)
        yield from page["Items"]
        if "LastEvaluatedKey" not in page:
            return
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def query_count(client: DynamoDBClient, query: dict[str, Any]) -> int:
    """How many items `query` matches (Select=COUNT, page after page)."""
    query = {**query, "Select": "COUNT"}
    total = 0
    while True:
        page = client.query(**query)
        total += page["Count"]
        if "LastEvaluatedKey" not in page:
            return total
        query["ExclusiveStartKey"] = page["LastEvaluatedKey"]
