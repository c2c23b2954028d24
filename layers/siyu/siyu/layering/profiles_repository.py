"""Visitors' profiles, segments and their members, and the tag library, in the DynamoDB table.

Key prefixes (for IAM ``dynamodb:LeadingKeys``): ``PROFILE#*``, ``SEG#*``, ``TAGLIB``.

    pk = PROFILE#<visitor_id>  sk = PROFILE      tags (map tag -> source), codes, channels,
                                                 questionnaires (string sets), contact, added_at,
                                                 joined_at, left_at, segments (string set: the
                                                 visitor's segment membership), version, expires_at;
                                                 list_pk = PROFILES / list_sk = updated_at (ListIndex:
                                                 the profile index a new segment's backfill pages)
    pk = SEG#<segment_id>      sk = SEG          name, rule_json, count, backfilled, created_at;
                                                 list_pk = SEGS / list_sk = created_at
    pk = SEG#<segment_id>      sk = MEMBER#<vid> one member (since, expires_at)
    pk = TAGLIB                sk = TAG#<name>   one tag of the library: sources (string set)

A profile, its ``segments`` set, the member items and the segments' counts change together in one
transaction (the profile's version is its condition): the count is the number of member items,
exactly, under concurrent answers and the backfill. ``expires_at`` (profiles and members) lets
DynamoDB's TTL drop what is past the retention; the daily job recounts each segment from its
member items (one query per segment, never a table scan).
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.layering.membership_repository import SegmentMembership, profile_key
from siyu.layering.model import Contact, Profile, Segment
from siyu.layering.rules import rule_document, rule_from_document
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, n, number, s, text
from siyu.storage.paging import query_count, query_page
from siyu.storage.table import newest_first

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

PROFILES = "PROFILES"
SEGS = "SEGS"
TAGLIB = "TAGLIB"
DEFAULT_RETENTION_DAYS = 400


def retention() -> timedelta:
    """How long answers, phones and profiles are kept after their last change (LAYERING_RETENTION_DAYS)."""
    days = os.environ.get("LAYERING_RETENTION_DAYS", "")
    return timedelta(days=int(days) if days.isdigit() and int(days) > 0 else DEFAULT_RETENTION_DAYS)


def expires_at(now: datetime) -> dict[str, str]:
    return n(int((now + retention()).timestamp()))


def segment_key(segment_id: str) -> Item:
    return {"pk": s(f"SEG#{segment_id}"), "sk": s("SEG")}


def member_key(segment_id: str, visitor_id: str) -> Item:
    return {"pk": s(f"SEG#{segment_id}"), "sk": s(f"MEMBER#{visitor_id}")}


class ProfilesTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> ProfilesTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- profiles --------------------------------------------------------------------------

    def profile(self, visitor_id: str) -> Profile | None:
        item = self._client.get_item(TableName=self._table, Key=profile_key(visitor_id), ConsistentRead=True)
        return _profile(item["Item"]) if "Item" in item else None

    def segments_of(self, visitor_id: str) -> frozenset[str]:
        """The visitor's segment membership: one GetItem of one attribute (what a scan may afford)."""
        return SegmentMembership(self._client, self._table).segments_of(visitor_id)

    def save(self, profile: Profile, now: datetime, joined: Collection[str] = (), left: Collection[str] = ()) -> None:
        """Write `profile` (its version must still be the stored one: StaleVersion otherwise) with
        its membership changes: a member item and +1 per joined segment, the item gone and -1 per
        left one, in one transaction."""
        item = _item(profile, now)
        put: dict[str, Any] = {"TableName": self._table, "Item": item}
        if profile.version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :v"
            put["ExpressionAttributeValues"] = {":v": n(profile.version)}
        writes: list[Any] = [{"Put": put}]
        for segment_id in joined:
            writes += self._membership(segment_id, profile.visitor_id, now, +1)
        for segment_id in left:
            writes += self._membership(segment_id, profile.visitor_id, now, -1)
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if condition_failed(error):
                raise StaleVersion(f"profile {profile.visitor_id}") from None
            raise

    def _membership(self, segment_id: str, visitor_id: str, now: datetime, change: int) -> list[Any]:
        member = member_key(segment_id, visitor_id)
        if change > 0:
            item = {**member, "since": s(to_precise_iso(now)), "expires_at": expires_at(now)}
            write: dict[str, Any] = {"Put": {"TableName": self._table, "Item": item}}
            write["Put"]["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            write = {"Delete": {"TableName": self._table, "Key": member, "ConditionExpression": "attribute_exists(pk)"}}
        count = {
            "TableName": self._table,
            "Key": segment_key(segment_id),
            "UpdateExpression": "ADD #count :one",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeNames": {"#count": "count"},
            "ExpressionAttributeValues": {":one": n(change)},
        }
        return [write, {"Update": count}]

    def profiles_page(self, cursor: str | None, limit: int = 100) -> tuple[list[Profile], str | None]:
        """One page of the profile index (ListIndex, PROFILES), for a segment's one-time backfill."""
        items, next_cursor = query_page(self._client, newest_first(self._table, PROFILES, limit), cursor)
        return [_profile(i) for i in items], next_cursor

    def erase(self, visitor_id: str, now: datetime) -> Profile | None:
        """Delete the profile and its member items (counts lowered): an erasure request."""
        profile = self.profile(visitor_id)
        if profile is None:
            return None
        writes: list[Any] = [{"Delete": {"TableName": self._table, "Key": profile_key(visitor_id)}}]
        for segment_id in profile.segments:
            if self.segment(segment_id) is not None:
                writes += self._membership(segment_id, visitor_id, now, -1)
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if condition_failed(error):  # a member item already gone: delete the profile alone
                self._client.delete_item(TableName=self._table, Key=profile_key(visitor_id))
            else:
                raise
        return profile

    # -- segments --------------------------------------------------------------------------

    def create_segment(self, segment: Segment) -> None:
        item = {
            **segment_key(segment.id),
            "name": s(segment.name),
            "rule_json": s(json.dumps(rule_document(segment.rule), ensure_ascii=False, sort_keys=True)),
            "count": n(0),
            "backfilled": {"BOOL": False},
            "created_at": s(to_precise_iso(segment.created_at)),
            "list_pk": s(SEGS),
            "list_sk": s(to_precise_iso(segment.created_at)),
        }
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def segment(self, segment_id: str) -> Segment | None:
        item = self._client.get_item(TableName=self._table, Key=segment_key(segment_id), ConsistentRead=True)
        return _segment(item["Item"]) if "Item" in item else None

    def segments(self) -> list[Segment]:
        """Every segment (a handful: each profile change evaluates them all)."""
        found: list[Segment] = []
        cursor: str | None = None
        while True:
            items, cursor = query_page(self._client, newest_first(self._table, SEGS, 100), cursor)
            found += [_segment(i) for i in items]
            if cursor is None:
                return found

    def mark_backfilled(self, segment_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=segment_key(segment_id),
            UpdateExpression="SET backfilled = :yes",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[str], str | None]:
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :member)",
            "ExpressionAttributeValues": {":pk": s(f"SEG#{segment_id}"), ":member": s("MEMBER#")},
            "Limit": limit,
        }
        items, next_cursor = query_page(self._client, query, cursor, keys=("pk", "sk"))
        return [i["sk"]["S"].removeprefix("MEMBER#") for i in items], next_cursor

    def recount(self, segment_id: str) -> int:
        """Set the segment's count to its member items (after TTL dropped some): one query."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :member)",
            "ExpressionAttributeValues": {":pk": s(f"SEG#{segment_id}"), ":member": s("MEMBER#")},
        }
        total = query_count(self._client, query)
        self._client.update_item(
            TableName=self._table,
            Key=segment_key(segment_id),
            UpdateExpression="SET #count = :n",
            ConditionExpression="attribute_exists(pk)",
            ExpressionAttributeNames={"#count": "count"},
            ExpressionAttributeValues={":n": n(total)},
        )
        return total

    # -- the tag library -------------------------------------------------------------------

    def register_tags(self, tags: Iterable[str], source: str) -> None:
        for tag in sorted(set(tags)):
            self._client.update_item(
                TableName=self._table,
                Key={"pk": s(TAGLIB), "sk": s(f"TAG#{tag}")},
                UpdateExpression="ADD sources :source",
                ExpressionAttributeValues={":source": {"SS": [source]}},
            )

    def tag_library(self) -> dict[str, frozenset[str]]:
        found: dict[str, frozenset[str]] = {}
        cursor: str | None = None
        while True:
            query = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": s(TAGLIB)},
                "Limit": 500,
            }
            items, cursor = query_page(self._client, query, cursor, keys=("pk", "sk"))
            for item in items:
                found[item["sk"]["S"].removeprefix("TAG#")] = frozenset(item.get("sources", {}).get("SS", []))
            if cursor is None:
                return found


def _item(profile: Profile, now: datetime) -> Item:
    item: Item = {
        **profile_key(profile.visitor_id),
        "tags": {"M": {tag: s(source) for tag, source in profile.tags.items()}},
        "version": n(profile.version + 1),
        "updated_at": s(to_precise_iso(now)),
        "expires_at": expires_at(now),
        "list_pk": s(PROFILES),
        "list_sk": s(f"{to_precise_iso(now)}#{profile.visitor_id}"),
    }
    for name in ("codes", "channels", "questionnaires", "segments"):
        values = getattr(profile, name)
        if values:
            item[name] = {"SS": sorted(values)}
    if profile.contact is not None:
        item["contact_external_userid"] = s(profile.contact.external_user_id)
        item["contact_userid"] = s(profile.contact.user_id)
    for name in ("added_at", "joined_at", "left_at"):
        value = getattr(profile, name)
        if value is not None:
            item[name] = s(to_precise_iso(value))
    return item


def _profile(item: Item) -> Profile:
    def strings(name: str) -> frozenset[str]:
        return frozenset(item.get(name, {}).get("SS", []))

    def instant(name: str) -> datetime | None:
        value = text(item, name)
        return from_iso(value) if value else None

    external = text(item, "contact_external_userid")
    return Profile(
        visitor_id=item["pk"]["S"].removeprefix("PROFILE#"),
        tags={tag: value["S"] for tag, value in item.get("tags", {}).get("M", {}).items()},
        codes=strings("codes"),
        channels=strings("channels"),
        questionnaires=strings("questionnaires"),
        contact=Contact(external, text(item, "contact_userid") or "") if external else None,
        added_at=instant("added_at"),
        joined_at=instant("joined_at"),
        left_at=instant("left_at"),
        segments=strings("segments"),
        updated_at=instant("updated_at"),
        version=number(item, "version"),
    )


def _segment(item: Item) -> Segment:
    return Segment(
        id=item["pk"]["S"].removeprefix("SEG#"),
        name=item["name"]["S"],
        rule=rule_from_document(json.loads(item["rule_json"]["S"])),
        created_at=from_iso(item["created_at"]["S"]),
        count=number(item, "count"),
        backfilled=bool(item.get("backfilled", {}).get("BOOL", False)),
    )
