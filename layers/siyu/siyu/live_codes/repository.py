"""All access to live codes in the DynamoDB table.

Key design (one table, see README):

    pk = CODE#<code_id>   sk = CODE                  the code, its targets, options, channels (config)
    pk = CODE#<code_id>   sk = SCANS#<target_id>#<k> counter shard k of a target: scans, day:<date>
    pk = CODE#<code_id>   sk = SCANS#fallback#<k>    scans that found no usable target

The code item also carries the rotation job's state (watch_json, lease) and its next check
(due_pk/due_at, in DueIndex); admin writes never touch those attributes.

Config lives in one item so an admin edit is one conditional write (optimistic ``version``).
Counters live apart so scans never contend with edits, and each target's count is spread
over up to 16 shard items (see ``assignment``): a hot code never funnels its scans into one
item. One Query on the partition returns config and counters together: that is how the scan
path refreshes its cache.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_iso, to_precise_iso
from siyu.live_codes.assignment import MAX_SHARDS, Counters, ShardCount
from siyu.live_codes.model import BackupQr, Channel, LiveCode, Option, Target, WorkingWindow
from siyu.storage import aws
from siyu.storage.paging import query_all, query_page

CODE_SK = "CODE"
DUE = "DUE"
DUE_INDEX = "DueIndex"
SCANS_PREFIX = "SCANS#"
DAY_PREFIX = "day:"
FALLBACK = "fallback"
LIST_INDEX = "ListIndex"


class VersionConflict(Exception):
    """Someone else changed the code since it was read."""


def _pk(code_id: str) -> str:
    return f"CODE#{code_id}"


def _s(value: str) -> dict:
    return {"S": value}


def _n(value: int) -> dict:
    return {"N": str(value)}


def _target_to_item(t: Target) -> dict:
    return {
        "M": {
            "id": _s(t.id),
            "url": _s(t.url),
            "kind": _s(t.kind),
            "image_key": _s(t.image_key),
            "expires_at": _s(to_iso(t.expires_at)),
            "created_at": _s(to_iso(t.created_at)),
            "qr_png": {"B": t.qr_png},
            "enabled": {"BOOL": t.enabled},
            "weight": _n(t.weight),
            "backup": {"BOOL": t.backup},
            "working_hours": {"S": json.dumps([[list(w.weekdays), w.start, w.end] for w in t.working_hours])},
            **({"staff_name": _s(t.staff_name)} if t.staff_name else {}),
            **({"daily_cap": _n(t.daily_cap)} if t.daily_cap is not None else {}),
            **({"option_id": _s(t.option_id)} if t.option_id else {}),
            **({"robot_url": _s(t.robot_url)} if t.robot_url else {}),
        }
    }


def _target_from_item(m: dict) -> Target:
    return Target(
        id=m["id"]["S"],
        url=m["url"]["S"],
        kind=m["kind"]["S"],
        image_key=m["image_key"]["S"],
        expires_at=from_iso(m["expires_at"]["S"]),
        created_at=from_iso(m["created_at"]["S"]),
        qr_png=m["qr_png"]["B"],
        enabled=m["enabled"]["BOOL"],
        staff_name=m.get("staff_name", {}).get("S"),
        weight=int(m.get("weight", {}).get("N", "1")),
        daily_cap=int(m["daily_cap"]["N"]) if "daily_cap" in m else None,
        working_hours=tuple(
            WorkingWindow(tuple(days), start, end)
            for days, start, end in json.loads(m.get("working_hours", {}).get("S", "[]"))
        ),
        backup=m.get("backup", {}).get("BOOL", False),
        option_id=m.get("option_id", {}).get("S"),
        robot_url=m.get("robot_url", {}).get("S"),
    )


def _option_to_item(o: Option) -> dict:
    return {
        "M": {
            "id": _s(o.id),
            "label": _s(o.label),
            "description": _s(o.description),
            "tag": _s(o.tag),
            "strategy": _s(o.strategy),
        }
    }


def _option_from_item(m: dict) -> Option:
    return Option(m["id"]["S"], m["label"]["S"], m["description"]["S"], m["tag"]["S"], m["strategy"]["S"])


def _channel_to_item(c: Channel) -> dict:
    return {"M": {"id": _s(c.id), "name": _s(c.name), "created_at": _s(to_iso(c.created_at))}}


def _channel_from_item(m: dict) -> Channel:
    return Channel(m["id"]["S"], m["name"]["S"], from_iso(m["created_at"]["S"]))


def code_to_item(code: LiveCode) -> dict:
    # Microseconds keep codes created in the same second in creation order in the list index.
    created = to_precise_iso(code.created_at)
    item = {
        "pk": _s(_pk(code.id)),
        "sk": _s(CODE_SK),
        "list_pk": _s("CODE"),
        "list_sk": _s(f"{created}#{code.id}"),
        "id": _s(code.id),
        "name": _s(code.name),
        "title": _s(code.title),
        "guidance": _s(code.guidance),
        "switch_threshold": _n(code.switch_threshold),
        "fallback_text": _s(code.fallback_text),
        "status": _s(code.status),
        "created_at": _s(created),
        "updated_at": _s(to_iso(code.updated_at)),
        "version": _n(code.version),
        "targets": {"L": [_target_to_item(t) for t in code.targets]},
        "kind": _s(code.kind),
        "strategy": _s(code.strategy),
        "time_zone": _s(code.time_zone),
        "sticky_days": _n(code.sticky_days),
        "options": {"L": [_option_to_item(o) for o in code.options]},
        "channels": {"L": [_channel_to_item(c) for c in code.channels]},
    }
    if code.backup_qr:
        item["backup_qr"] = {
            "M": {
                "url": _s(code.backup_qr.url),
                "image_key": _s(code.backup_qr.image_key),
                "qr_png": {"B": code.backup_qr.qr_png},
            }
        }
    return item


def code_from_item(item: dict) -> LiveCode:
    backup = item.get("backup_qr", {}).get("M")
    return LiveCode(
        id=item["id"]["S"],
        name=item["name"]["S"],
        title=item["title"]["S"],
        guidance=item["guidance"]["S"],
        switch_threshold=int(item["switch_threshold"]["N"]),
        fallback_text=item["fallback_text"]["S"],
        status=item["status"]["S"],
        created_at=from_iso(item["created_at"]["S"]),
        updated_at=from_iso(item["updated_at"]["S"]),
        version=int(item["version"]["N"]),
        targets=tuple(_target_from_item(t["M"]) for t in item["targets"]["L"]),
        backup_qr=BackupQr(backup["url"]["S"], backup["image_key"]["S"], backup["qr_png"]["B"]) if backup else None,
        # Codes saved before staff and grouped codes existed are group codes without channels.
        kind=item.get("kind", {}).get("S", "group"),
        strategy=item.get("strategy", {}).get("S", "in_order"),
        time_zone=item.get("time_zone", {}).get("S", "Asia/Shanghai"),
        sticky_days=int(item.get("sticky_days", {}).get("N", "7")),
        options=tuple(_option_from_item(o["M"]) for o in item.get("options", {}).get("L", [])),
        channels=tuple(_channel_from_item(c["M"]) for c in item.get("channels", {}).get("L", [])),
    )


class CodesTable:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls, fast: bool = False) -> CodesTable:
        return cls(aws.dynamodb_for_scans() if fast else aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- reads -------------------------------------------------------------------------

    def load(self, code_id: str, consistent: bool = False) -> tuple[LiveCode | None, Counters]:
        """The code and its counter shards in one Query."""
        code, counters = None, Counters()
        query = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(_pk(code_id))},
            "ConsistentRead": consistent,
        }
        for item in query_all(self._client, query):
            sk = item["sk"]["S"]
            if sk == CODE_SK:
                code = code_from_item(item)
            elif sk.startswith(SCANS_PREFIX):
                target_id, shard = _counter_of(sk)
                counters.shards.setdefault(target_id, {})[shard] = _shard_count(item)
        return code, counters

    def list(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[LiveCode], str | None]:
        """Codes newest first, one page at a time; `cursor` continues where the last page ended."""
        kwargs = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "list_pk = :kind",
            "ExpressionAttributeValues": {":kind": _s("CODE")},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status:
            kwargs["FilterExpression"] = "#status = :status"
            kwargs["ExpressionAttributeNames"] = {"#status": "status"}
            kwargs["ExpressionAttributeValues"][":status"] = _s(status)
        items, next_cursor = query_page(self._client, kwargs, cursor)
        return [code_from_item(i) for i in items], next_cursor

    # -- config writes -----------------------------------------------------------------
    # Admin writes SET only the config attributes, so the rotation job's state on the same item
    # (watch_json, lease) survives them; each write also makes the code due for the job, which
    # then re-evaluates its alerts within one schedule period.

    def create(self, code: LiveCode) -> None:
        item = code_to_item(code)
        item.update(due_pk=_s(DUE), due_at=_s(to_precise_iso(code.created_at)))
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def save(self, code: LiveCode, now: datetime) -> LiveCode:
        """Write `code` if nobody changed it since it was read; returns the saved version."""
        saved = replace(code, version=code.version + 1, updated_at=now)
        try:
            self._client.update_item(TableName=self._table, **self._versioned_update(saved, now))
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                raise VersionConflict(code.id) from error
            raise
        return saved

    def save_without_target(self, code: LiveCode, target_id: str, now: datetime) -> LiveCode:
        """Save `code` (which no longer lists `target_id`) and drop that target's counters, atomically."""
        saved = replace(code, version=code.version + 1, updated_at=now)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {"Update": {"TableName": self._table, **self._versioned_update(saved, now)}},
                    *(
                        {"Delete": {"TableName": self._table, "Key": self._counter_key(code.id, target_id, shard)}}
                        for shard in (None, *range(MAX_SHARDS))
                    ),
                ]
            )
        except ClientError as error:
            if _code(error) == "TransactionCanceledException":
                raise VersionConflict(code.id) from error
            raise
        return saved

    def _versioned_update(self, saved: LiveCode, now: datetime) -> dict:
        item = code_to_item(saved)
        config = {k: v for k, v in item.items() if k not in ("pk", "sk")}
        names = {f"#{k}": k for k in config}
        values = {f":{k}": v for k, v in config.items()}
        assignments = [f"#{k} = :{k}" for k in config] + ["due_pk = :due_pk", "due_at = :due_at"]
        values.update({":read": _n(saved.version - 1), ":due_pk": _s(DUE), ":due_at": _s(to_precise_iso(now))})
        update = "SET " + ", ".join(assignments)
        if saved.backup_qr is None:
            update += " REMOVE backup_qr"
        return {
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "UpdateExpression": update,
            "ConditionExpression": "version = :read",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    # -- the rotation job's view: due codes, leases, watch state -----------------------

    def counters(self, code_id: str) -> dict[str, int]:
        """Scans per target (and ``fallback``), summed over the shards."""
        kwargs = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :scans)",
            "ExpressionAttributeValues": {":pk": _s(_pk(code_id)), ":scans": _s(SCANS_PREFIX)},
        }
        counters = Counters()
        while True:
            page = self._client.query(**kwargs)
            for item in page["Items"]:
                target_id, shard = _counter_of(item["sk"]["S"])
                counters.shards.setdefault(target_id, {})[shard] = _shard_count(item)
            if "LastEvaluatedKey" not in page:
                return counters.totals()
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def mark_due(self, code_id: str, now: datetime) -> None:
        """Ask the rotation job to look at this code on its next run."""
        self._client.update_item(
            TableName=self._table,
            Key=self._code_key(code_id),
            UpdateExpression="SET due_pk = :due, due_at = :now",
            ConditionExpression="attribute_exists(pk) AND #status = :active",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":due": _s(DUE), ":now": _s(to_precise_iso(now)), ":active": _s("active")},
        )

    def _code_key(self, code_id: str) -> dict:
        return {"pk": _s(_pk(code_id)), "sk": _s(CODE_SK)}

    # -- counters (the scan path) ------------------------------------------------------

    def count_scan(
        self,
        code_id: str,
        target_id: str,
        shard: int,
        day: str,
        total_quota: int | None,
        daily_quota: int | None,
        stale_days: list[str] = (),
    ) -> ShardCount | None:
        """Count one scan on shard `shard` of a target, if the shard is under its quotas
        (lifetime `total_quota`, `daily_quota` for `day`).

        Returns the shard's new counts, or None when it was already full (nothing written).
        One conditional UpdateItem: atomic, so concurrent scans never overshoot. Day counts
        in `stale_days` are removed on the way (the item stays small)."""
        names = {"#day": DAY_PREFIX + day}
        values = {":one": _n(1)}
        conditions = []
        if total_quota is not None:
            conditions.append("(attribute_not_exists(scans) OR scans < :total_quota)")
            values[":total_quota"] = _n(total_quota)
        if daily_quota is not None:
            conditions.append("(attribute_not_exists(#day) OR #day < :daily_quota)")
            values[":daily_quota"] = _n(daily_quota)
        update = "ADD scans :one, #day :one"
        stale = [d for d in stale_days if d != day]
        if stale:
            names.update({f"#old{i}": DAY_PREFIX + d for i, d in enumerate(stale)})
            update += " REMOVE " + ", ".join(f"#old{i}" for i in range(len(stale)))
        kwargs = {"ConditionExpression": " AND ".join(conditions)} if conditions else {}
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=self._counter_key(code_id, target_id, shard),
                UpdateExpression=update,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                **kwargs,
            )
        except ClientError as error:
            if _code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return _shard_count(answer["Attributes"])

    def count_fallback(self, code_id: str, shard: int) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=self._counter_key(code_id, FALLBACK, shard),
            UpdateExpression="ADD scans :one",
            ExpressionAttributeValues={":one": _n(1)},
        )

    def _counter_key(self, code_id: str, target_id: str, shard: int | None) -> dict:
        sk = SCANS_PREFIX + target_id if shard is None else f"{SCANS_PREFIX}{target_id}#{shard}"
        return {"pk": _s(_pk(code_id)), "sk": _s(sk)}


def _counter_of(sk: str) -> tuple[str, int]:
    """(target id, shard) of a counter item; a counter from before sharding is shard -1 (still
    counted in the totals, never written again)."""
    rest = sk[len(SCANS_PREFIX) :]
    target_id, _, shard = rest.partition("#")
    return target_id, int(shard) if shard else -1


def _shard_count(item: dict) -> ShardCount:
    days = {k[len(DAY_PREFIX) :]: int(v["N"]) for k, v in item.items() if k.startswith(DAY_PREFIX)}
    return ShardCount(int(item.get("scans", {}).get("N", "0")), days)


def _code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")
