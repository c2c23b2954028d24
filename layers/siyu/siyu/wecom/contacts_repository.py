"""External contacts, group members and customer groups, as WeCom's callbacks report them.

    pk = WECOM#CONTACT#<external_userid>  sk = FOLLOW#<userid>        one guide the customer added
    pk = WECOM#CHAT#<chat_id>             sk = MEMBER#<external_userid> one customer in one group
    pk = WECOM#CHAT#<chat_id>             sk = CHAT                  the group (name, owner, size)
    pk = WECOM#CHAT#<chat_id>             sk = CODE#<code_id>        the group behind a code's join way

Follows and members that came through a siyu way are listed by code in ListIndex
(``WECOM#ADDED#<code_id>`` / ``WECOM#JOINED#<code_id>``, newest first); groups that are not
dismissed under ``WECOM#CHATS`` (what the scheduled reconcile reads); a code's join-way groups
under ``WECOM#GROUPS#<code_id>`` (what the rotation job reads). Recording an add or a
join is a conditional write: the same customer counted twice is the same write refused, which is
what keeps the funnel's figures exact under WeCom's retries and the reconcile.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, n, number, s, text
from siyu.storage.paging import query_all, query_page
from siyu.storage.table import LIST_INDEX, newest_first
from siyu.wecom.records import Chat, Follow, GroupFact, Member

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

ACTIVE = "attribute_not_exists(pk) OR attribute_exists(gone_at)"
CHATS = "WECOM#CHATS"


class ContactsTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> ContactsTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- follows -------------------------------------------------------------------------

    def add_follow(self, external_user_id: str, follow: Follow) -> bool:
        """Record that the customer added this guide; false if they already follow them."""
        item = {
            "pk": s(f"WECOM#CONTACT#{external_user_id}"),
            "sk": s(f"FOLLOW#{follow.user_id}"),
            "external_user_id": s(external_user_id),
            "user_id": s(follow.user_id),
            "added_at": s(to_precise_iso(follow.added_at)),
            **_origin(follow.state, follow.code_id, follow.channel_id, follow.target_id),
        }
        if follow.code_id:
            item["list_pk"] = s(f"WECOM#ADDED#{follow.code_id}")
            item["list_sk"] = s(f"{to_precise_iso(follow.added_at)}#{external_user_id}")
        # The same add again (this event's earlier try, which failed after this write) is new again,
        # so what followed it is done this time.
        return self._put_if(item, f"{ACTIVE} OR added_at = :at", {":at": item["added_at"]})

    def remove_follow(self, external_user_id: str, user_id: str, at: datetime, by: str) -> Follow | None:
        """Mark the follow gone; the follow as it was, or None if there was no active one (the same
        removal again, an earlier try of this event, answers the follow again)."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=_key(f"WECOM#CONTACT#{external_user_id}", f"FOLLOW#{user_id}"),
                UpdateExpression="SET gone_at = :at, gone_by = :by",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(gone_at) OR gone_at = :at)",
                ExpressionAttributeValues={":at": s(to_precise_iso(at)), ":by": s(by)},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return _follow(answer["Attributes"])

    def follows(self, external_user_id: str) -> list[Follow]:
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :follow)",
            "ExpressionAttributeValues": {":pk": s(f"WECOM#CONTACT#{external_user_id}"), ":follow": s("FOLLOW#")},
        }
        return [_follow(item) for item in query_all(self._client, query)]

    def added_through(
        self, code_id: str, limit: int, cursor: str | None
    ) -> tuple[list[tuple[str, Follow]], str | None]:
        """A page of (external_userid, follow) that came through the code's ways, newest first."""
        items, next_cursor = query_page(
            self._client, newest_first(self._table, f"WECOM#ADDED#{code_id}", limit), cursor
        )
        return [(item["external_user_id"]["S"], _follow(item)) for item in items], next_cursor

    # -- members -------------------------------------------------------------------------

    def add_member(self, member: Member) -> bool:
        """Record that the customer is in the group; false if they already were."""
        item = {
            "pk": s(f"WECOM#CHAT#{member.chat_id}"),
            "sk": s(f"MEMBER#{member.external_user_id}"),
            "chat_id": s(member.chat_id),
            "external_user_id": s(member.external_user_id),
            "joined_at": s(to_precise_iso(member.joined_at)),
            **({"join_scene": n(member.join_scene)} if member.join_scene is not None else {}),
            **_origin(member.state, member.code_id, member.channel_id, member.target_id),
        }
        if member.code_id:
            item["list_pk"] = s(f"WECOM#JOINED#{member.code_id}")
            item["list_sk"] = s(f"{to_precise_iso(member.joined_at)}#{member.chat_id}#{member.external_user_id}")
        return self._put_if(item, ACTIVE)

    def remove_member(self, chat_id: str, external_user_id: str, at: datetime, quit_scene: int | None) -> Member | None:
        """Mark the member gone; the member as they were, or None if they were not in the group."""
        scene = {":scene": n(quit_scene)} if quit_scene is not None else {}
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=_key(f"WECOM#CHAT#{chat_id}", f"MEMBER#{external_user_id}"),
                UpdateExpression="SET gone_at = :at" + (", quit_scene = :scene" if scene else ""),
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(gone_at)",
                ExpressionAttributeValues={":at": s(to_precise_iso(at)), **scene},
                ReturnValues="ALL_OLD",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return _member(answer["Attributes"])

    def members(self, chat_id: str, include_gone: bool = False) -> list[Member]:
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :member)",
            "ExpressionAttributeValues": {":pk": s(f"WECOM#CHAT#{chat_id}"), ":member": s("MEMBER#")},
        }
        found = [_member(item) for item in query_all(self._client, query)]
        return found if include_gone else [m for m in found if m.left_at is None]

    def joined_through(self, code_id: str, limit: int, cursor: str | None) -> tuple[list[Member], str | None]:
        items, next_cursor = query_page(
            self._client, newest_first(self._table, f"WECOM#JOINED#{code_id}", limit), cursor
        )
        return [_member(item) for item in items], next_cursor

    # -- groups --------------------------------------------------------------------------

    def watch_chat(self, chat_id: str) -> None:
        """Put a customer group on the reconcile's list (a join way's group, before any callback)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": s(f"WECOM#CHAT#{chat_id}"),
                    "sk": s("CHAT"),
                    "list_pk": s(CHATS),
                    "list_sk": s(chat_id),
                    "name": s(""),
                    "owner": s(""),
                    "member_count": n(0),
                    "updated_at": s("1970-01-01T00:00:00.000000Z"),
                },
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as error:
            if not condition_failed(error):
                raise

    def watched_chats(self) -> list[str]:
        """Every customer group siyu knows of that is not dismissed (the reconcile's list)."""
        query = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :chats",
            "ExpressionAttributeValues": {":chats": s(CHATS)},
        }
        return [item["list_sk"]["S"] for item in query_all(self._client, query)]

    def save_chat(self, chat: Chat) -> None:
        listed = {} if chat.dismissed else {"list_pk": s(CHATS), "list_sk": s(chat.chat_id)}
        self._client.put_item(
            TableName=self._table,
            Item={
                **listed,
                "pk": s(f"WECOM#CHAT#{chat.chat_id}"),
                "sk": s("CHAT"),
                "name": s(chat.name),
                "owner": s(chat.owner),
                "member_count": n(chat.member_count),
                "updated_at": s(to_precise_iso(chat.updated_at)),
                "dismissed": {"BOOL": chat.dismissed},
            },
        )

    def chat(self, chat_id: str) -> Chat | None:
        item = self._client.get_item(TableName=self._table, Key=_key(f"WECOM#CHAT#{chat_id}", "CHAT")).get("Item")
        if item is None:
            return None
        return Chat(
            chat_id=chat_id,
            name=item["name"]["S"],
            owner=item["owner"]["S"],
            member_count=number(item, "member_count"),
            updated_at=from_iso(item["updated_at"]["S"]),
            dismissed=item.get("dismissed", {}).get("BOOL", False),
        )

    # -- a code's join-way groups ------------------------------------------------------------

    def link_group(self, code_id: str, group: GroupFact) -> bool:
        """Remember that customers joined `group` through the code's join way (which target, and
        whether WeCom made the group); false if it was already known (nothing is changed then)."""
        item = {
            "pk": s(f"WECOM#CHAT#{group.chat_id}"),
            "sk": s(f"CODE#{code_id}"),
            "list_pk": s(f"WECOM#GROUPS#{code_id}"),
            "list_sk": s(group.chat_id),
            "chat_id": s(group.chat_id),
            "code_id": s(code_id),
            "target_id": s(group.target_id),
            "name": s(group.name),
            "member_count": n(group.member_count),
            "auto_created": {"BOOL": group.auto_created},
            "dismissed": {"BOOL": group.dismissed},
            **({"seen_at": s(to_precise_iso(group.seen_at))} if group.seen_at else {}),
        }
        return self._put_if(item, "attribute_not_exists(pk)")

    def resize_group(
        self, chat_id: str, name: str, member_count: int, dismissed: bool = False
    ) -> list[tuple[str, int]]:
        """Store the group's size (and name, unless empty) on every code it is linked to; the
        (code id, size before) of each, so the caller sees which crossed a line."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :code)",
            "ExpressionAttributeValues": {":pk": s(f"WECOM#CHAT#{chat_id}"), ":code": s("CODE#")},
            "ProjectionExpression": "sk",
        }
        values: dict[str, Any] = {":n": n(member_count), ":gone": {"BOOL": dismissed}}
        update = "SET member_count = :n, dismissed = :gone"
        names: dict[str, Any] = {}
        if name:  # a dismissed group reads as nameless: keep the name it had
            values[":name"], names["ExpressionAttributeNames"] = s(name), {"#name": "name"}
            update += ", #name = :name"
        before = []
        for link in query_all(self._client, query):
            try:
                answer = self._client.update_item(
                    TableName=self._table,
                    Key=_key(f"WECOM#CHAT#{chat_id}", link["sk"]["S"]),
                    UpdateExpression=update,
                    ConditionExpression="attribute_exists(pk)",
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_OLD",
                    **names,
                )
            except ClientError as error:
                if condition_failed(error):
                    continue
                raise
            before.append((link["sk"]["S"].removeprefix("CODE#"), number(answer["Attributes"], "member_count")))
        return before

    def groups_of_code(self, code_id: str) -> list[GroupFact]:
        """The customer groups the code's join ways sent customers into (one ListIndex query)."""
        query = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :groups",
            "ExpressionAttributeValues": {":groups": s(f"WECOM#GROUPS#{code_id}")},
        }
        return [_group(item) for item in query_all(self._client, query)]

    def _put_if(self, item: Item, condition: str, values: Item | None = None) -> bool:
        try:
            request: dict[str, Any] = {"TableName": self._table, "Item": item, "ConditionExpression": condition}
            if values:
                request["ExpressionAttributeValues"] = values
            self._client.put_item(**request)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True


def _origin(state: str | None, code_id: str | None, channel_id: str | None, target_id: str | None) -> dict[str, Any]:
    values = {"state": state, "code_id": code_id, "channel_id": channel_id, "target_id": target_id}
    return {name: s(value) for name, value in values.items() if value}


def _follow(item: Item) -> Follow:
    gone = text(item, "gone_at")
    return Follow(
        user_id=item["user_id"]["S"],
        added_at=from_iso(item["added_at"]["S"]),
        state=text(item, "state"),
        code_id=text(item, "code_id"),
        channel_id=text(item, "channel_id"),
        target_id=text(item, "target_id"),
        deleted_at=from_iso(gone) if gone else None,
        deleted_by=text(item, "gone_by"),
    )


def _member(item: Item) -> Member:
    gone = text(item, "gone_at")
    return Member(
        chat_id=item["chat_id"]["S"],
        external_user_id=item["external_user_id"]["S"],
        joined_at=from_iso(item["joined_at"]["S"]),
        join_scene=number(item, "join_scene") if "join_scene" in item else None,
        state=text(item, "state"),
        code_id=text(item, "code_id"),
        channel_id=text(item, "channel_id"),
        target_id=text(item, "target_id"),
        left_at=from_iso(gone) if gone else None,
        quit_scene=number(item, "quit_scene") if "quit_scene" in item else None,
    )


def _group(item: Item) -> GroupFact:
    seen = text(item, "seen_at")
    return GroupFact(
        chat_id=item["chat_id"]["S"],
        name=item["name"]["S"],
        member_count=number(item, "member_count"),
        target_id=item["target_id"]["S"],
        auto_created=item.get("auto_created", {}).get("BOOL", False),
        seen_at=from_iso(seen) if seen else None,
        dismissed=item.get("dismissed", {}).get("BOOL", False),
    )


def _key(pk: str, sk: str) -> Item:
    return {"pk": s(pk), "sk": s(sk)}
