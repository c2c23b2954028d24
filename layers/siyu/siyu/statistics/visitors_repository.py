"""All access to scanners' visitor records in the DynamoDB table.

    pk = VISITOR#<visitor_id>   sk = CODE#<code_id>   what one scanner did with one code

A visitor id is a random first-party cookie value, never derived from the scanner's address:
no IP is stored. Attributes: first_seen, last_seen; ``assigned:<pool>`` = "<target>|<when>"
(who they were given, so a returning scanner sees the same staff member); ``tags`` (string
set; grouped-code picks); ``dims`` (every statistic dimension they ever counted in) and
``seen:<day>`` (the ones they counted in that day): together they make unique-visitor counts
exact without a read of their own. ``expires_at`` (epoch seconds) lets DynamoDB's TTL drop records
of scanners who never came back.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from siyu.core.clock import from_iso, to_iso
from siyu.storage import aws
from siyu.storage.codec import Item, n, remove_clause, s
from siyu.storage.paging import query_all

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

SEEN_PREFIX = "seen:"
ASSIGNED_PREFIX = "assigned:"
RETENTION = timedelta(days=400)


@dataclass(frozen=True)
class VisitorRecord:
    visitor_id: str
    code_id: str
    first_seen: datetime
    last_seen: datetime
    assignments: dict[str, tuple[str, datetime]]  # pool key -> (target id, when)
    tags: frozenset[str]
    seen_days: tuple[str, ...]
    dims: frozenset[str] = frozenset()  # every statistic dimension they counted in
    seen: dict[str, frozenset[str]] = field(default_factory=dict)  # day -> the dimensions of that day


@dataclass(frozen=True)
class VisitEntry:
    """One visit to record: the statistic dimensions it counts in, who the scanner was given
    (pool key, target id), the tags they picked, and `stale_days` whose ``seen:`` sets can go."""

    visitor_id: str
    code_id: str
    now: datetime
    day: str
    dims: Collection[str]
    assignment: tuple[str, str] | None = None
    tags: Collection[str] = ()
    stale_days: Collection[str] = ()


@dataclass(frozen=True)
class NewInVisit:
    """Which dimensions this visit was the scanner's first in: today, and ever."""

    today: frozenset[str]
    ever: frozenset[str]


class VisitorsTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls, fast: bool = False) -> VisitorsTable:
        return cls(aws.dynamodb_for_scans() if fast else aws.dynamodb(), os.environ["TABLE_NAME"])

    def get(self, visitor_id: str, code_id: str) -> VisitorRecord | None:
        item = self._client.get_item(TableName=self._table, Key=_key(visitor_id, code_id)).get("Item")
        return _record(item) if item else None

    def of_visitor(self, visitor_id: str) -> list[VisitorRecord]:
        """Every code this visitor scanned (admin view)."""
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": s(f"VISITOR#{visitor_id}")},
        }
        return [_record(item) for item in query_all(self._client, query)]

    def record_visit(self, visit: VisitEntry) -> NewInVisit:
        """Record one visit (one UpdateItem) and say which dimensions it was new in (from the
        record as it was before the write, returned by the same call)."""
        names = {"#seen": SEEN_PREFIX + visit.day}
        values: Item = {
            ":now": s(to_iso(visit.now)),
            ":code": s(visit.code_id),
            ":dims": {"SS": sorted(set(visit.dims))},
            ":expires": n(int((visit.now + RETENTION).timestamp())),
        }
        sets = ["last_seen = :now", "first_seen = if_not_exists(first_seen, :now)", "code_id = :code"]
        sets.append("expires_at = :expires")
        adds = ["dims :dims", "#seen :dims"]
        if visit.assignment is not None:
            pool, target_id = visit.assignment
            names["#assigned"] = ASSIGNED_PREFIX + pool
            values[":assigned"] = s(f"{target_id}|{to_iso(visit.now)}")
            sets.append("#assigned = :assigned")
        if visit.tags:
            values[":tags"] = {"SS": sorted(set(visit.tags))}
            adds.append("tags :tags")
        update = f"SET {', '.join(sets)} ADD {', '.join(adds)}"
        update += remove_clause(names, [SEEN_PREFIX + d for d in visit.stale_days if d != visit.day])
        old = self._client.update_item(
            TableName=self._table,
            Key=_key(visit.visitor_id, visit.code_id),
            UpdateExpression=update,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",  # the item before: which dims were seen already
        ).get("Attributes", {})
        counted = frozenset(visit.dims)
        seen_today = set(old.get(SEEN_PREFIX + visit.day, {}).get("SS", []))
        seen_ever = set(old.get("dims", {}).get("SS", []))
        return NewInVisit(counted - seen_today, counted - seen_ever)


def _key(visitor_id: str, code_id: str) -> Item:
    return {"pk": s(f"VISITOR#{visitor_id}"), "sk": s(f"CODE#{code_id}")}


def _record(item: Item) -> VisitorRecord:
    assignments: dict[str, tuple[str, datetime]] = {}
    for name, value in item.items():
        if name.startswith(ASSIGNED_PREFIX):
            target_id, _, when = value["S"].partition("|")
            assignments[name[len(ASSIGNED_PREFIX) :]] = (target_id, from_iso(when))
    return VisitorRecord(
        visitor_id=item["pk"]["S"].removeprefix("VISITOR#"),
        code_id=item["code_id"]["S"],
        first_seen=from_iso(item["first_seen"]["S"]),
        last_seen=from_iso(item["last_seen"]["S"]),
        assignments=assignments,
        tags=frozenset(item.get("tags", {}).get("SS", [])),
        seen_days=tuple(sorted(n[len(SEEN_PREFIX) :] for n in item if n.startswith(SEEN_PREFIX))),
        dims=frozenset(item.get("dims", {}).get("SS", [])),
        seen={n[len(SEEN_PREFIX) :]: frozenset(v.get("SS", [])) for n, v in item.items() if n.startswith(SEEN_PREFIX)},
    )
