"""The due queue: work waiting in the table's DueIndex, taken by one worker at a time.

An item is due when it carries ``due_pk`` (the queue's partition, e.g. ``DUE`` for codes the
rotation job checks, ``SOP`` for plans) and ``due_at`` (when). Scheduled jobs read only what is
due from the index (never a table scan), then *claim* each item with a lease: a conditional
write that succeeds for one worker, and again for another only once the lease has run out (a
worker that died). The worker *finishes* by storing its result, the next due time (or none) and
dropping the lease, in one conditional write that holds only while the lease is still its own.

Codes, SOP plans, SOP deliveries, invites and reward notifications all queue this way; the
expressions live here once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from siyu.core.clock import to_precise_iso
from siyu.storage.codec import Item, condition_failed, s
from siyu.storage.paging import query_all
from siyu.storage.table import DUE_INDEX

LEASE_FREE = "(attribute_not_exists(lease_until) OR lease_until < :lease_now)"
UNSCHEDULE = "due_pk, due_at"
LEASE = "lease_owner, lease_until"


@dataclass(frozen=True)
class DueQueue:
    """One partition of the due index in one table."""

    client: Any
    table: str
    partition: str
    # How lease times are written. Codes have always stored whole seconds; everything newer stores
    # microseconds. One queue keeps one format, so its comparisons stay in order.
    lease_instant: Callable[[datetime], str] = to_precise_iso

    def schedule(self, at: datetime, due_at: str | None = None) -> dict[str, dict[str, str]]:
        """The attributes that put an item in this queue at `at` (`due_at` text if it carries more)."""
        return {"due_pk": s(self.partition), "due_at": s(due_at or to_precise_iso(at))}

    def due(
        self, now: datetime, projection: str | None = "pk, sk, due_at", page_size: int | None = None, upper: str = ""
    ) -> Iterator[Item]:
        """Every item due by `now`, earliest first (`upper` extends the bound for due_at texts that
        carry more after the instant)."""
        query: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :due AND due_at <= :now",
            "ExpressionAttributeValues": {":due": s(self.partition), ":now": s(to_precise_iso(now) + upper)},
        }
        if projection:
            query["ProjectionExpression"] = projection
        if page_size:
            query["Limit"] = page_size
        yield from query_all(self.client, query)

    def claim(
        self,
        key: Item,
        now: datetime,
        lease: timedelta,
        owner: str | None = None,
        seen_due_at: str | None = None,
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        return_item: bool = False,
    ) -> Item | None:
        """Take the item for `lease` unless another worker holds it; also only if its due_at is
        still `seen_due_at` (nobody made it due anew) and `condition` holds. The item as it is now
        (``{}`` unless `return_item`), or None when it could not be taken."""
        sets = ["lease_until = :lease_until"]
        all_values = {":lease_until": s(self.lease_instant(now + lease)), ":lease_now": s(self.lease_instant(now))}
        conditions = [LEASE_FREE]
        if owner is not None:
            sets.append("lease_owner = :lease_owner")
            all_values[":lease_owner"] = s(owner)
        if seen_due_at is not None:
            conditions.insert(0, "due_at = :seen_due_at")
            all_values[":seen_due_at"] = s(seen_due_at)
        if condition:
            conditions.insert(0, f"({condition})")
        request: dict[str, Any] = {
            "TableName": self.table,
            "Key": key,
            "UpdateExpression": "SET " + ", ".join(sets),
            "ConditionExpression": " AND ".join(conditions),
            "ExpressionAttributeValues": {**all_values, **(values or {})},
        }
        if names:
            request["ExpressionAttributeNames"] = dict(names)
        if return_item:
            request["ReturnValues"] = "ALL_NEW"
        try:
            answer = self.client.update_item(**request)
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return dict(answer.get("Attributes", {})) if return_item else {}

    def held_update(
        self, key: Item, owner: str, sets: Mapping[str, Any], seen_due_at: str | None = None
    ) -> dict[str, Any]:
        """The Update (for a transaction, or ``finish``) that stores `sets` while `owner` holds
        the lease (and, with `seen_due_at`, while nobody made the item due anew)."""
        condition = "lease_owner = :lease_owner"
        values: dict[str, Any] = {":lease_owner": s(owner)}
        if seen_due_at is not None:
            condition += " AND due_at = :seen_due_at"
            values[":seen_due_at"] = s(seen_due_at)
        names = {f"#held_{i}": name for i, name in enumerate(sets)}
        values.update({f":held_{i}": value for i, value in enumerate(sets.values())})
        update: dict[str, Any] = {
            "TableName": self.table,
            "Key": key,
            "UpdateExpression": "SET " + ", ".join(f"#held_{i} = :held_{i}" for i in range(len(sets))),
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        return update

    def finish(
        self,
        key: Item,
        owner: str,
        next_due: datetime | None,
        sets: Mapping[str, Any] | None = None,
        seen_due_at: str | None = None,
    ) -> bool:
        """Store `sets`, queue the item again at `next_due` (None: take it out of the queue) and
        drop the lease, while `owner` still holds it. False when it no longer does (or, with
        `seen_due_at`, when the item was made due anew): nothing was written then."""
        update = self.held_update(key, owner, sets or {}, seen_due_at)
        assignments = [update["UpdateExpression"].removeprefix("SET ")] if sets else []
        if next_due is None:
            removes = f"{UNSCHEDULE}, {LEASE}"
        else:
            assignments += ["due_pk = :finish_due_pk", "due_at = :finish_due_at"]
            update["ExpressionAttributeValues"].update(
                {":finish_due_pk": s(self.partition), ":finish_due_at": s(to_precise_iso(next_due))}
            )
            removes = LEASE
        update["UpdateExpression"] = (f"SET {', '.join(assignments)} " if assignments else "") + f"REMOVE {removes}"
        try:
            self.client.update_item(**update)
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def release(self, key: Item, owner: str) -> None:
        """Give the item back without touching its due time (the next run takes it)."""
        try:
            self.client.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression=f"REMOVE {LEASE}",
                ConditionExpression="lease_owner = :lease_owner",
                ExpressionAttributeValues={":lease_owner": s(owner)},
            )
        except ClientError as error:
            if not condition_failed(error):
                raise
