"""Flash groups and what their metrics are read from, in the DynamoDB table.

Key prefixes (for IAM ``dynamodb:LeadingKeys``): ``FLASH#*``, ``ACTIVITY#*``, ``SIGNUP#*``,
``ORDER#*``, ``ORDERS#*``, ``BUYER#*``.

    pk = FLASH#<id>               sk = FLASH             doc_json (name, chats, code, days, sign-up);
                                                         list_pk = FLASHES / list_sk = created_at
    pk = ACTIVITY#<owner>         sk = DAY#<day>         WeCom groupchat/statistic of that owner and
                                                         day: chat_total, member_total,
                                                         member_has_msg, msg_total, read_at
    pk = SIGNUP#<chat>            sk = VISITOR#<vid>     a sign-up respondent who came from the group
    pk = SIGNUP#<chat>            sk = DAY#<day>         signups (first sign-ups that day)
    pk = ORDER#<order_id>         sk = ORDER             one order (amount_fen, buyer, chat, paid_at)
    pk = ORDERS#<chat or ->       sk = DAY#<day>         orders, revenue_fen, buyers (first orders of a
                                                         buyer in the group), repurchases
    pk = BUYER#<chat or ->#<who>  sk = BUYER             the buyer ordered in the group before

An order is one transaction: the ORDER item (conditional: the same order id again changes
nothing), the day's counters, and the buyer's mark (its condition tells a first order from a
repurchase). Sign-up marks and counters move together the same way.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.layering.model import FlashGroup, Order, OwnerActivity
from siyu.layering.profiles_repository import expires_at
from siyu.storage import aws
from siyu.storage.codec import Item, cancellation_reasons, condition_failed, n, number, s
from siyu.storage.paging import query_page
from siyu.storage.table import newest_first

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

FLASHES = "FLASHES"
NO_GROUP = "-"


class FlashTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> FlashTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- flash groups ----------------------------------------------------------------------

    def create(self, flash: FlashGroup) -> None:
        document = asdict(flash)
        document.pop("id")
        document.pop("created_at")
        created = to_precise_iso(flash.created_at)
        item: Item = {
            "pk": s(f"FLASH#{flash.id}"),
            "sk": s("FLASH"),
            "doc_json": s(json.dumps(document, ensure_ascii=False, sort_keys=True)),
            "created_at": s(created),
            "list_pk": s(FLASHES),
            "list_sk": s(created),
        }
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def get(self, flash_id: str) -> FlashGroup | None:
        item = self._client.get_item(TableName=self._table, Key={"pk": s(f"FLASH#{flash_id}"), "sk": s("FLASH")})
        return _flash(item["Item"]) if "Item" in item else None

    def page(self, limit: int, cursor: str | None) -> tuple[list[FlashGroup], str | None]:
        items, next_cursor = query_page(self._client, newest_first(self._table, FLASHES, limit), cursor)
        return [_flash(i) for i in items], next_cursor

    # -- WeCom's activity statistic --------------------------------------------------------

    def save_activity(self, activity: OwnerActivity) -> None:
        self._client.put_item(
            TableName=self._table,
            Item={
                "pk": s(f"ACTIVITY#{activity.owner}"),
                "sk": s(f"DAY#{activity.day}"),
                "chat_total": n(activity.chat_total),
                "member_total": n(activity.member_total),
                "member_has_msg": n(activity.member_has_msg),
                "msg_total": n(activity.msg_total),
                "read_at": s(to_precise_iso(activity.read_at)),
            },
        )

    def activity(self, owner: str, first: str, last: str) -> dict[str, OwnerActivity]:
        found = {}
        for day, item in self._days(f"ACTIVITY#{owner}", first, last):
            found[day] = OwnerActivity(
                owner=owner,
                day=day,
                chat_total=number(item, "chat_total"),
                member_total=number(item, "member_total"),
                member_has_msg=number(item, "member_has_msg"),
                msg_total=number(item, "msg_total"),
                read_at=from_iso(item["read_at"]["S"]),
            )
        return found

    # -- sign-ups --------------------------------------------------------------------------

    def record_signup(self, chat_id: str, visitor_id: str, day: str, now: datetime) -> bool:
        """The visitor's first sign-up through the group's link counts on `day` (True)."""
        mark: Item = {"pk": s(f"SIGNUP#{chat_id}"), "sk": s(f"VISITOR#{visitor_id}"), "expires_at": expires_at(now)}
        writes: list[Any] = [
            {"Put": {"TableName": self._table, "Item": mark, "ConditionExpression": "attribute_not_exists(pk)"}},
            _add(self._table, f"SIGNUP#{chat_id}", day, {"signups": 1}),
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
            return True
        except ClientError as error:
            if condition_failed(error):
                return False
            raise

    def signups(self, chat_id: str, first: str, last: str) -> dict[str, int]:
        return {day: number(item, "signups") for day, item in self._days(f"SIGNUP#{chat_id}", first, last)}

    # -- orders ----------------------------------------------------------------------------

    def record_order(self, order: Order, day: str) -> str:
        """ "new", "repurchase" (the buyer ordered in this group before) or "duplicate" (this
        order id was recorded already: nothing changes)."""
        group = order.chat_id or NO_GROUP
        order_item: Item = {
            "pk": s(f"ORDER#{order.order_id}"),
            "sk": s("ORDER"),
            "amount_fen": n(order.amount_fen),
            "buyer": s(order.buyer),
            "chat_id": s(group),
            "paid_at": s(to_precise_iso(order.paid_at)),
        }
        put_order = {
            "Put": {"TableName": self._table, "Item": order_item, "ConditionExpression": "attribute_not_exists(pk)"}
        }
        buyer: Item = {"pk": s(f"BUYER#{group}#{order.buyer}"), "sk": s("BUYER")}
        put_buyer = {
            "Put": {"TableName": self._table, "Item": buyer, "ConditionExpression": "attribute_not_exists(pk)"}
        }
        first = {"orders": 1, "revenue_fen": order.amount_fen, "buyers": 1}
        try:
            self._client.transact_write_items(
                TransactItems=[put_order, put_buyer, _add(self._table, f"ORDERS#{group}", day, first)]  # type: ignore[list-item]
            )
            return "new"
        except ClientError as error:
            if not condition_failed(error):
                raise
            reasons = cancellation_reasons(error)
            if reasons[:1] == ["ConditionalCheckFailed"]:
                return "duplicate"
        again = {"orders": 1, "revenue_fen": order.amount_fen, "repurchases": 1}
        try:
            self._client.transact_write_items(
                TransactItems=[put_order, _add(self._table, f"ORDERS#{group}", day, again)]  # type: ignore[list-item]
            )
        except ClientError as error:
            if condition_failed(error):
                return "duplicate"
            raise
        return "repurchase"

    def orders(self, chat_id: str | None, first: str, last: str) -> dict[str, dict[str, int]]:
        pk = f"ORDERS#{chat_id or NO_GROUP}"
        names = ("orders", "revenue_fen", "buyers", "repurchases")
        return {day: {name: number(item, name) for name in names} for day, item in self._days(pk, first, last)}

    def _days(self, pk: str, first: str, last: str) -> list[tuple[str, Item]]:
        answer = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND sk BETWEEN :first AND :last",
            ExpressionAttributeValues={":pk": s(pk), ":first": s(f"DAY#{first}"), ":last": s(f"DAY#{last}")},
        )
        return [(i["sk"]["S"].removeprefix("DAY#"), i) for i in answer["Items"]]


def _add(table: str, pk: str, day: str, counts: Mapping[str, int]) -> dict[str, Any]:
    names = {f"#c{i}": name for i, name in enumerate(counts)}
    values = {f":c{i}": n(value) for i, value in enumerate(counts.values())}
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": s(pk), "sk": s(f"DAY#{day}")},
            "UpdateExpression": "ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(counts))),
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }
    }


def _flash(item: Item) -> FlashGroup:
    doc = json.loads(item["doc_json"]["S"])
    return FlashGroup(
        id=item["pk"]["S"].removeprefix("FLASH#"),
        name=doc["name"],
        chat_ids=tuple(doc["chat_ids"]),
        first_day=doc["first_day"],
        last_day=doc["last_day"],
        created_at=from_iso(item["created_at"]["S"]),
        code_id=doc.get("code_id"),
        signup_questionnaire_id=doc.get("signup_questionnaire_id"),
    )
