"""SOP plans: one item each, the plan a JSON document (plan_json) read and written whole.

pk = PLAN#<plan_id>   sk = PLAN   plan_json, status, version; list_pk/list_sk (ListIndex);
                                  due_pk=SOP/due_at (DueIndex): when the job must expand it
                                  next; scanned_until; lease_owner/lease_until while a run has it
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.core.errors import InvalidInput, StaleVersion
from siyu.sop.ports import PlanProgress
from siyu.sop.repository.table import PLAN_DUE, PLAN_SK, SopTableBase, plan_key, plan_pk
from siyu.sop.rules import Content, Destination, Guards, Plan, Reminder, Schedule, Step
from siyu.storage.codec import Item, condition_failed, n, s, text
from siyu.storage.paging import query_page
from siyu.storage.table import newest_first

# The document keeps the audience under its first name: plans written before still read.
AUDIENCE_FIELD = "target"
# DynamoDB's item limit is 400 KB, names and values; the plan's other attributes (keys, status,
# indexes, the job's lease) take well under 2 KB.
MAX_ITEM_BYTES = 400 * 1024
MAX_PLAN_BYTES = MAX_ITEM_BYTES - 2048


class PlanTooLarge(InvalidInput):
    """The plan, as stored, would exceed DynamoDB's 400 KB item limit."""


def stored_document(plan: Plan) -> str:
    """The plan's document as stored, or PlanTooLarge (checked before any write)."""
    document = plan_to_json(plan)
    size = len(document.encode("utf-8")) + len("plan_json")
    if size > MAX_PLAN_BYTES:
        raise PlanTooLarge(
            f"the plan is {size:,} bytes stored; a plan holds at most {MAX_PLAN_BYTES:,} bytes (DynamoDB's 400 KB "
            "item limit, UTF-8: a Chinese character takes 3): shorten the texts or split the steps into two plans"
        )
    return document


def plan_to_json(plan: Plan) -> str:
    def encode(value: object) -> str:
        if isinstance(value, datetime):
            return to_precise_iso(value)
        if isinstance(value, date | time):
            return value.isoformat()
        raise TypeError(type(value))

    document = asdict(plan)
    document[AUDIENCE_FIELD] = document.pop("audience")
    return json.dumps(document, default=encode, ensure_ascii=False, sort_keys=True)


def plan_from_json(document: str) -> Plan:
    raw = json.loads(document)

    def schedule(s: dict[str, Any]) -> Schedule:
        return Schedule(
            s["kind"],
            time.fromisoformat(s["at"]),
            s.get("day", 0),
            tuple(s.get("weekdays", ())),
            date.fromisoformat(s["on"]) if s.get("on") else None,
        )

    guards = raw["guards"]
    return Plan(
        id=raw["id"],
        name=raw["name"],
        time_zone=raw["time_zone"],
        audience=raw[AUDIENCE_FIELD],
        steps=tuple(Step(s["id"], s["name"], schedule(s["schedule"]), Content(**s["content"])) for s in raw["steps"]),
        guards=Guards(
            time.fromisoformat(guards["quiet_start"]),
            time.fromisoformat(guards["quiet_end"]),
            guards["max_delay_minutes"],
            guards["daily_cap"],
        ),
        status=raw["status"],
        start=date.fromisoformat(raw["start"]),
        created_at=from_iso(raw["created_at"]),
        version=raw["version"],
        destinations=tuple(
            Destination(
                d["key"],
                d["name"],
                d["channel"],
                d["url"],
                d.get("secret"),
                date.fromisoformat(d["start"]) if d.get("start") else None,
            )
            for d in raw["destinations"]
        ),
        reminder=_reminder(raw.get("reminder")),
    )


def _reminder(raw: dict[str, Any] | None) -> Reminder | None:
    if not raw:
        return None
    return Reminder(tuple(raw.get("wecom_users", ())), raw.get("robot_url", ""), raw.get("task_hours", 24))


def _plan(item: Item) -> Plan:
    return plan_from_json(item["plan_json"]["S"])


class PlanRecords(SopTableBase):
    def create_plan(self, plan: Plan) -> None:
        created = to_precise_iso(plan.created_at)
        item = {
            "pk": s(plan_pk(plan.id)),
            "sk": s(PLAN_SK),
            "list_pk": s("PLAN"),
            "list_sk": s(f"{created}#{plan.id}"),
            "plan_json": s(stored_document(plan)),
            "status": s(plan.status),
            "version": n(plan.version),
            "scanned_until": s(created),
            **self._plans_due.schedule(plan.created_at),
        }
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def plan(self, plan_id: str) -> tuple[Plan, PlanProgress] | None:
        """The plan and the job's progress on it (scanned_until, due_at), or None."""
        item = self._client.get_item(TableName=self._table, Key=plan_key(plan_id), ConsistentRead=True).get("Item")
        if not item:
            return None
        self.items_read += 1
        return _plan(item), PlanProgress(from_iso(item["scanned_until"]["S"]), text(item, "due_at"))

    def save_plan(self, plan: Plan, due_now: datetime | None = None, scanned_until: datetime | None = None) -> Plan:
        """Write `plan` if nobody changed it since it was read (version), else StaleVersion;
        `due_now` makes the job look at it at once (a resumed or edited plan)."""
        saved = replace(plan, version=plan.version + 1)
        values = {
            ":json": s(stored_document(saved)),
            ":status": s(saved.status),
            ":version": n(saved.version),
            ":read": n(plan.version),
        }
        update = "SET plan_json = :json, #status = :status, version = :version"
        if due_now is not None:
            update += ", due_pk = :due, due_at = :now"
            values.update({":due": s(PLAN_DUE), ":now": s(to_precise_iso(due_now))})
        if scanned_until is not None:
            update += ", scanned_until = :scanned"
            values[":scanned"] = s(to_precise_iso(scanned_until))
        try:
            self._client.update_item(
                TableName=self._table,
                Key=plan_key(plan.id),
                UpdateExpression=update,
                ConditionExpression="version = :read",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if condition_failed(error):
                raise StaleVersion(plan.id) from error
            raise
        return saved

    def list_plans(self, limit: int, cursor: str | None) -> tuple[list[Plan], str | None]:
        items, next_cursor = query_page(self._client, newest_first(self._table, "PLAN", limit), cursor)
        return [_plan(i) for i in items], next_cursor

    def due_plans(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(plan id, due_at seen) of plans the job must expand now, from the due index."""
        for item in self._plans_due.due(now):
            self.items_read += 1
            yield item["pk"]["S"].removeprefix("PLAN#"), item["due_at"]["S"]

    def claim_plan(self, plan_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        claimed = self._plans_due.claim(plan_key(plan_id), now, lease, owner=run_id, seen_due_at=seen_due_at)
        return claimed is not None

    def finish_plan(self, plan_id: str, run_id: str, scanned_until: datetime, next_due: datetime | None) -> None:
        """Record how far the plan is expanded, when to look next (None: never) and release it
        (nothing, if another run took it over meanwhile)."""
        self._plans_due.finish(plan_key(plan_id), run_id, next_due, {"scanned_until": s(to_precise_iso(scanned_until))})
