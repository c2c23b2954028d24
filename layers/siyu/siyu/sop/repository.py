"""All access to SOP plans, their deliveries and the per-target daily push counts.

    pk = PLAN#<plan_id>      sk = PLAN                  the plan (plan_json), status, version;
                                                        due_pk=SOP/due_at (DueIndex): when the job
                                                        must expand it next; scanned_until; lease
    pk = PLAN#<plan_id>      sk = DELIVERY#<id>         one delivery: (occurrence, step, target);
                                                        due_pk=SOPSEND/due_at while it waits to be sent
    pk = SOPCAP#<target>     sk = <local day>           pushes a target received that day

A delivery's id is its key (occurrence time, step, target): created with a conditional put, so
two job runs at once create it once, and a conditional claim lets only one sender send it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime, time, timedelta

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.live_codes.repository import DUE_INDEX, LIST_INDEX
from siyu.sop.rules import Content, Destination, Guards, Plan, Schedule, Step
from siyu.storage import aws
from siyu.storage.paging import TABLE_KEYS, query_all, query_page

PLAN_DUE = "SOP"
SEND_DUE = "SOPSEND"
PLAN_SK = "PLAN"
DELIVERY_PREFIX = "DELIVERY#"


class Stale(Exception):
    """The item changed since it was read (another run or an operator got there first)."""


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int) -> dict:
    return {"N": str(value)}


def plan_to_json(plan: Plan) -> str:
    def encode(value):
        if isinstance(value, datetime):
            return to_precise_iso(value)
        if isinstance(value, date | time):
            return value.isoformat()
        raise TypeError(type(value))

    return json.dumps(asdict(plan), default=encode, ensure_ascii=False, sort_keys=True)


def plan_from_json(text: str) -> Plan:
    raw = json.loads(text)

    def schedule(s: dict) -> Schedule:
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
        target=raw["target"],
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
    )


class SopTable:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name
        self.items_read = 0  # what this instance's queries and reads returned (the benchmark's figure)

    @classmethod
    def from_environment(cls) -> SopTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- plans -------------------------------------------------------------------------

    def create_plan(self, plan: Plan) -> None:
        item = {
            "pk": _s(f"PLAN#{plan.id}"),
            "sk": _s(PLAN_SK),
            "list_pk": _s("PLAN"),
            "list_sk": _s(f"{to_precise_iso(plan.created_at)}#{plan.id}"),
            "plan_json": _s(plan_to_json(plan)),
            "status": _s(plan.status),
            "version": _n(plan.version),
            "scanned_until": _s(to_precise_iso(plan.created_at)),
            "due_pk": _s(PLAN_DUE),
            "due_at": _s(to_precise_iso(plan.created_at)),
        }
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def plan(self, plan_id: str) -> tuple[Plan, dict] | None:
        """The plan and its job state (scanned_until, due_at), or None."""
        item = self._client.get_item(TableName=self._table, Key=self._plan_key(plan_id), ConsistentRead=True).get(
            "Item"
        )
        self.items_read += bool(item)
        return (plan_from_json(item["plan_json"]["S"]), _job_state(item)) if item else None

    def save_plan(self, plan: Plan, due_now: datetime | None = None, scanned_until: datetime | None = None) -> Plan:
        """Write `plan` if nobody changed it since it was read (version); `due_now` makes the job
        look at it at once (a resumed or edited plan)."""
        saved = Plan(**{**plan.__dict__, "version": plan.version + 1})
        values = {
            ":json": _s(plan_to_json(saved)),
            ":status": _s(saved.status),
            ":version": _n(saved.version),
            ":read": _n(plan.version),
        }
        update = "SET plan_json = :json, #status = :status, version = :version"
        if due_now is not None:
            update += ", due_pk = :due, due_at = :now"
            values.update({":due": _s(PLAN_DUE), ":now": _s(to_precise_iso(due_now))})
        if scanned_until is not None:
            update += ", scanned_until = :scanned"
            values[":scanned"] = _s(to_precise_iso(scanned_until))
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._plan_key(plan.id),
                UpdateExpression=update,
                ConditionExpression="version = :read",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise Stale(plan.id) from error
            raise
        return saved

    def list_plans(self, limit: int, cursor: str | None) -> tuple[list[Plan], str | None]:
        kwargs = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :kind",
            "ExpressionAttributeValues": {":kind": _s("PLAN")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, next_cursor = query_page(self._client, kwargs, cursor)
        return [plan_from_json(i["plan_json"]["S"]) for i in items], next_cursor

    def due_plans(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(plan id, due_at seen) of plans the job must expand now, from the due index."""
        yield from ((pk.removeprefix("PLAN#"), due) for pk, _, due in self._due(PLAN_DUE, now))

    def claim_plan(self, plan_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._plan_key(plan_id),
                UpdateExpression="SET lease_owner = :run, lease_until = :until",
                ConditionExpression="due_at = :seen AND (attribute_not_exists(lease_until) OR lease_until < :now)",
                ExpressionAttributeValues={
                    ":run": _s(run_id),
                    ":until": _s(to_precise_iso(now + lease)),
                    ":seen": _s(seen_due_at),
                    ":now": _s(to_precise_iso(now)),
                },
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def finish_plan(self, plan_id: str, run_id: str, scanned_until: datetime, next_due: datetime | None) -> None:
        """Record how far the plan is expanded, when to look next (None: never) and release it."""
        values = {":run": _s(run_id), ":scanned": _s(to_precise_iso(scanned_until))}
        if next_due is None:
            update = "SET scanned_until = :scanned REMOVE due_pk, due_at, lease_owner, lease_until"
        else:
            update = "SET scanned_until = :scanned, due_pk = :due, due_at = :next REMOVE lease_owner, lease_until"
            values.update({":due": _s(PLAN_DUE), ":next": _s(to_precise_iso(next_due))})
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._plan_key(plan_id),
                UpdateExpression=update,
                ConditionExpression="lease_owner = :run",
                ExpressionAttributeValues=values,
            )
        except ClientError as error:
            if _code(error) != "ConditionalCheckFailedException":
                raise

    # -- deliveries --------------------------------------------------------------------

    def create_delivery(self, plan_id: str, delivery: dict, due_at: datetime | None) -> bool:
        """Create a delivery unless it exists (the key is the exactly-once guard)."""
        item = {k: _attr(v) for k, v in delivery.items() if v is not None}
        item.update(pk=_s(f"PLAN#{plan_id}"), sk=_s(DELIVERY_PREFIX + delivery["id"]), attempts=_n(0))
        if due_at is not None:
            item.update(due_pk=_s(SEND_DUE), due_at=_s(to_precise_iso(due_at)))
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def due_deliveries(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        """(plan id, delivery id, due_at seen) of deliveries waiting to be sent."""
        for pk, sk, due in self._due(SEND_DUE, now):
            yield pk.removeprefix("PLAN#"), sk.removeprefix(DELIVERY_PREFIX), due

    def hand_over(self, plan_id: str, delivery_id: str, seen_due_at: str, until: datetime) -> bool:
        """Take a due delivery for sending: its next due time becomes `until` (if the send never
        happens, the job hands it over again then)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._delivery_key(plan_id, delivery_id),
                UpdateExpression="SET due_at = :until",
                ConditionExpression="due_at = :seen",
                ExpressionAttributeValues={":until": _s(to_precise_iso(until)), ":seen": _s(seen_due_at)},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def claim_delivery(self, plan_id: str, delivery_id: str, now: datetime, lease: timedelta) -> dict | None:
        """Mark the delivery as being sent by this sender, or None if it is sent, being sent,
        finished, or not due yet."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._delivery_key(plan_id, delivery_id),
                UpdateExpression="SET #status = :sending, lease_until = :until ADD attempts :one",
                ConditionExpression="(#status IN (:queued, :waiting, :retry) AND send_at <= :now) "
                "OR (#status = :sending AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sending": _s("sending"),
                    ":queued": _s("queued"),
                    ":waiting": _s("waiting"),
                    ":retry": _s("retry"),
                    ":until": _s(to_precise_iso(now + lease)),
                    ":now": _s(to_precise_iso(now)),
                    ":one": _n(1),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _plain(answer["Attributes"])

    def finish_delivery(
        self,
        plan_id: str,
        delivery_id: str,
        status: str,
        now: datetime,
        error: str | None = None,
        retry_at: datetime | None = None,
        reason: str | None = None,
    ) -> None:
        """Record the outcome of a send attempt (only while this delivery is ours: status sending)."""
        names = {"#status": "status"}
        values = {":status": _s(status), ":sending": _s("sending"), ":now": _s(to_precise_iso(now))}
        sets = ["#status = :status", "updated_at = :now"]
        removes = ["lease_until"]
        if status == "sent":
            sets.append("sent_at = :now")
        if error is not None:
            values[":attempt"] = {"L": [{"M": {"at": _s(to_precise_iso(now)), "error": _s(error[:500])}}]}
            values[":empty"] = {"L": []}
            sets.append("history = list_append(if_not_exists(history, :empty), :attempt)")
            sets.append("last_error = :error")
            values[":error"] = _s(error[:500])
        if reason is not None:
            sets.append("reason = :reason")
            values[":reason"] = _s(reason)
        if retry_at is not None:
            sets += ["due_pk = :due", "due_at = :retry", "send_at = :retry"]
            values.update({":due": _s(SEND_DUE), ":retry": _s(to_precise_iso(retry_at))})
        else:
            removes += ["due_pk", "due_at"]
        self._client.update_item(
            TableName=self._table,
            Key=self._delivery_key(plan_id, delivery_id),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
        )

    def mark_cap_counted(self, plan_id: str, delivery_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._delivery_key(plan_id, delivery_id),
            UpdateExpression="SET cap_counted = :yes",
            ExpressionAttributeValues={":yes": {"BOOL": True}},
        )

    def requeue(self, plan_id: str, delivery_id: str, now: datetime, from_statuses: tuple[str, ...]) -> bool:
        """Send a delivery again (resend of a failed one, a held one after resume)."""
        placeholders = {f":from{i}": _s(s) for i, s in enumerate(from_statuses)}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=self._delivery_key(plan_id, delivery_id),
                UpdateExpression="SET #status = :queued, send_at = :now, due_pk = :due, due_at = :now, "
                "cap_counted = :no REMOVE reason",
                ConditionExpression=f"#status IN ({', '.join(placeholders)})",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":queued": _s("queued"),
                    ":now": _s(to_precise_iso(now)),
                    ":due": _s(SEND_DUE),
                    ":no": {"BOOL": False},
                    **placeholders,
                },
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delivery(self, plan_id: str, delivery_id: str) -> dict | None:
        item = self._client.get_item(
            TableName=self._table, Key=self._delivery_key(plan_id, delivery_id), ConsistentRead=True
        ).get("Item")
        return _plain(item) if item else None

    def deliveries(self, plan_id: str, limit: int = 100, cursor: str | None = None) -> tuple[list[dict], str | None]:
        """The plan's delivery log, newest occurrence first."""
        kwargs = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": _s(f"PLAN#{plan_id}"), ":prefix": _s(DELIVERY_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, next_cursor = query_page(self._client, kwargs, cursor, TABLE_KEYS)
        return [_plain(i) for i in items], next_cursor

    # -- per-target daily cap -------------------------------------------------------------

    def count_push(self, target: str, day: str, cap: int) -> bool:
        """Count one push to `target` on `day`, if it is under `cap`."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(f"SOPCAP#{target}"), "sk": _s(day)},
                UpdateExpression="ADD pushes :one",
                ConditionExpression="attribute_not_exists(pushes) OR pushes < :cap",
                ExpressionAttributeValues={":one": _n(1), ":cap": _n(cap)},
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    # -- plumbing ------------------------------------------------------------------------

    def _due(self, partition: str, now: datetime) -> Iterator[tuple[str, str, str]]:
        query = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "due_pk = :due AND due_at <= :now",
            "ExpressionAttributeValues": {":due": _s(partition), ":now": _s(to_precise_iso(now))},
            "ProjectionExpression": "pk, sk, due_at",
        }
        for item in query_all(self._client, query):
            self.items_read += 1
            yield item["pk"]["S"], item["sk"]["S"], item["due_at"]["S"]

    @staticmethod
    def _plan_key(plan_id: str) -> dict:
        return {"pk": _s(f"PLAN#{plan_id}"), "sk": _s(PLAN_SK)}

    @staticmethod
    def _delivery_key(plan_id: str, delivery_id: str) -> dict:
        return {"pk": _s(f"PLAN#{plan_id}"), "sk": _s(DELIVERY_PREFIX + delivery_id)}


def _job_state(item: dict) -> dict:
    return {
        "scanned_until": from_iso(item["scanned_until"]["S"]),
        "due_at": item.get("due_at", {}).get("S"),
    }


def _attr(value) -> dict:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int):
        return _n(value)
    if isinstance(value, datetime):
        return _s(to_precise_iso(value))
    return _s(str(value))


def _plain(item: dict) -> dict:
    """A delivery item as plain Python values."""
    out = {}
    for name, value in item.items():
        if name in ("pk", "due_pk"):
            continue
        ((kind, raw),) = value.items()
        if kind == "N":
            out[name] = int(raw)
        elif kind == "BOOL":
            out[name] = raw
        elif kind == "L":
            out[name] = [{k: v["S"] for k, v in entry["M"].items()} for entry in raw]
        else:
            out[name] = raw
    out["id"] = out.pop("sk").removeprefix(DELIVERY_PREFIX)
    return out


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
