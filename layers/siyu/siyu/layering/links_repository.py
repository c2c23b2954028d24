"""Tracked links and their unique clicks, in the DynamoDB table.

Key prefixes (for IAM ``dynamodb:LeadingKeys``): ``LINK#*``, ``LEARN#*``.

    pk = LINK#<id>      sk = LINK                 url, plan_id, step, group, learning, created_at;
                                                  list_pk = LINKS / list_sk = created_at
    pk = LINK#<id>      sk = DAY#<day>            clicks, unique (per China day)
    pk = LINK#<id>      sk = SEEN#<day>#<who>     the dedupe mark of one visitor (or address hash) on
                                                  one day; expires_at drops it after 3 days (TTL)
    pk = LEARN#<chat>   sk = VISITOR#<vid>        a visitor opened one of the group's learning links
                                                  (first time; expires_at: the retention)
    pk = LEARN#<chat>   sk = DAY#<day>            openers: visitors whose first learning open was that day

A unique click is the conditional put of its SEEN mark and the day's counters in one transaction;
a repeat is one counter update.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.layering.model import Click, TrackedLink
from siyu.layering.profiles_repository import expires_at
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, n, number, s, text
from siyu.storage.paging import query_page
from siyu.storage.table import newest_first

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

LINKS = "LINKS"
SEEN_DAYS = 3


def _link_key(link_id: str, sk: str = "LINK") -> Item:
    return {"pk": s(f"LINK#{link_id}"), "sk": s(sk)}


class LinksTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> LinksTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    def create(self, link: TrackedLink) -> None:
        created = to_precise_iso(link.created_at)
        item: Item = {
            **_link_key(link.id),
            "url": s(link.url),
            "learning": {"BOOL": link.learning},
            "created_at": s(created),
            "list_pk": s(LINKS),
            "list_sk": s(created),
        }
        for name in ("plan_id", "step", "group"):
            if value := getattr(link, name):
                item[name] = s(value)
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, link_id: str) -> TrackedLink | None:
        item = self._client.get_item(TableName=self._table, Key=_link_key(link_id)).get("Item")
        return _link(item) if item else None

    def page(self, limit: int, cursor: str | None) -> tuple[list[TrackedLink], str | None]:
        items, next_cursor = query_page(self._client, newest_first(self._table, LINKS, limit), cursor)
        return [_link(i) for i in items], next_cursor

    def record_click(self, click: Click, now: datetime) -> bool:
        """Count one click; True when it was the visitor's (or address's) first that day."""
        seen: Item = {
            **_link_key(click.link_id, f"SEEN#{click.day}#{click.who}"),
            "expires_at": n(int((now + timedelta(days=SEEN_DAYS)).timestamp())),
        }
        day = _link_key(click.link_id, f"DAY#{click.day}")
        writes: list[Any] = [
            {"Put": {"TableName": self._table, "Item": seen, "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": self._table,
                    "Key": day,
                    "UpdateExpression": "ADD clicks :one, #unique :one",
                    "ExpressionAttributeNames": {"#unique": "unique"},
                    "ExpressionAttributeValues": {":one": n(1)},
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
            return True
        except ClientError as error:
            if not condition_failed(error):
                raise
        self._client.update_item(
            TableName=self._table,
            Key=day,
            UpdateExpression="ADD clicks :one",
            ExpressionAttributeValues={":one": n(1)},
        )
        return False

    def record_learning(self, group: str, visitor_id: str, day: str, now: datetime) -> bool:
        """The visitor's first open of one of the group's learning links (True) counts on `day`."""
        mark: Item = {"pk": s(f"LEARN#{group}"), "sk": s(f"VISITOR#{visitor_id}"), "expires_at": expires_at(now)}
        writes: list[Any] = [
            {"Put": {"TableName": self._table, "Item": mark, "ConditionExpression": "attribute_not_exists(pk)"}},
            {
                "Update": {
                    "TableName": self._table,
                    "Key": {"pk": s(f"LEARN#{group}"), "sk": s(f"DAY#{day}")},
                    "UpdateExpression": "ADD openers :one",
                    "ExpressionAttributeValues": {":one": n(1)},
                }
            },
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
            return True
        except ClientError as error:
            if condition_failed(error):
                return False
            raise

    def days(self, link_id: str, first: str, last: str) -> dict[str, tuple[int, int]]:
        """Per day between `first` and `last` (inclusive): (clicks, unique)."""
        return {
            day: (number(i, "clicks"), number(i, "unique")) for day, i in self._days(f"LINK#{link_id}", first, last)
        }

    def learning_openers(self, group: str, first: str, last: str) -> dict[str, int]:
        return {day: number(i, "openers") for day, i in self._days(f"LEARN#{group}", first, last)}

    def _days(self, pk: str, first: str, last: str) -> list[tuple[str, Item]]:
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": s(pk), ":first": s(f"DAY#{first}"), ":last": s(f"DAY#{last}")},
        )
        return [(i["sk"]["S"].removeprefix("DAY#"), i) for i in answer["Items"]]


def _link(item: Item) -> TrackedLink:
    return TrackedLink(
        id=item["pk"]["S"].removeprefix("LINK#"),
        url=item["url"]["S"],
        created_at=from_iso(item["created_at"]["S"]),
        plan_id=text(item, "plan_id"),
        step=text(item, "step"),
        group=text(item, "group"),
        learning=bool(item.get("learning", {}).get("BOOL", False)),
    )
