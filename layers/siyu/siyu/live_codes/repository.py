"""All access to live codes in the DynamoDB table.

Key design (one table, see README):

    pk = CODE#<code_id>   sk = CODE                  the code, its targets, options, channels (config)
    pk = CODE#<code_id>   sk = SCANS#<target_id>#<k> counter shard k of a target (``counters_repository``)

The code item also carries the rotation job's state (watch_json, lease) and its next check
(due_pk/due_at, in DueIndex); admin writes never touch those attributes.

Config lives in one item of native attributes (targets, options and channels are lists of
maps, so old items read as they are), and an admin edit is one conditional write on it
(optimistic ``version``). Counters live apart so scans never contend with edits. One Query on
the partition returns config and counters together: that is how the scan path refreshes its
cache.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_iso, to_precise_iso
from siyu.core.errors import StaleVersion
from siyu.live_codes.assignment import MAX_SHARDS, Counters, ShardCount
from siyu.live_codes.counters_repository import (
    DAY_PREFIX,
    FALLBACK,
    SCANS_PREFIX,
    ScanCount,
    ScanCounters,
    add_counter,
    code_pk,
    counter_key,
)
from siyu.live_codes.model import (
    BackupQr,
    Channel,
    ChannelWay,
    LiveCode,
    Option,
    Target,
    Welcome,
    WelcomeLink,
    WelcomeMiniprogram,
    WorkingWindow,
)
from siyu.storage import aws
from siyu.storage.codec import Item, condition_failed, n, s
from siyu.storage.paging import query_all, query_page
from siyu.storage.table import newest_first

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient

__all__ = [
    "CODE_SK",
    "DAY_PREFIX",
    "DUE",
    "FALLBACK",
    "SCANS_PREFIX",
    "CodesTable",
    "code_from_item",
    "code_to_item",
]

CODE_SK = "CODE"
DUE = "DUE"
_pk = code_pk


def _target_to_item(t: Target) -> Item:
    return {
        "M": {
            "id": s(t.id),
            "url": s(t.url),
            "kind": s(t.kind),
            "image_key": s(t.image_key),
            "expires_at": s(to_iso(t.expires_at)),
            "created_at": s(to_iso(t.created_at)),
            "qr_png": {"B": t.qr_png},
            "enabled": {"BOOL": t.enabled},
            "weight": n(t.weight),
            "backup": {"BOOL": t.backup},
            "working_hours": s(json.dumps([[list(w.weekdays), w.start, w.end] for w in t.working_hours])),
            **({"staff_name": s(t.staff_name)} if t.staff_name else {}),
            **({"daily_cap": n(t.daily_cap)} if t.daily_cap is not None else {}),
            **({"option_id": s(t.option_id)} if t.option_id else {}),
            **({"robot_url": s(t.robot_url)} if t.robot_url else {}),
            **(_wecom_to_item(t) if t.is_wecom_way else {}),
        }
    }


def _wecom_to_item(t: Target) -> Item:
    fields: Item = {
        "ways": {"L": [_way_to_item(w) for w in t.ways]},
        "skip_verify": {"BOOL": t.skip_verify},
        "auto_create_room": {"BOOL": t.auto_create_room},
        "room_base_name": s(t.room_base_name),
    }
    if t.wecom_user is not None:
        fields["wecom_user"] = s(t.wecom_user)
    if t.wecom_chat_ids:
        fields["wecom_chat_ids"] = {"L": [s(c) for c in t.wecom_chat_ids]}
    return fields


def _way_to_item(w: ChannelWay) -> Item:
    way: Item = {"config_id": s(w.config_id), "state": s(w.state), "url": s(w.url), "qr_png": {"B": w.qr_png}}
    if w.channel_id is not None:
        way["channel_id"] = s(w.channel_id)
    return {"M": way}


def _way_from_item(m: Item) -> ChannelWay:
    channel = m.get("channel_id", {}).get("S")
    return ChannelWay(channel, m["config_id"]["S"], m["state"]["S"], m["url"]["S"], m["qr_png"]["B"])


def _target_from_item(m: Item) -> Target:
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
        # Targets saved before WeCom ways existed are uploads: no member, no groups, no ways.
        wecom_user=m.get("wecom_user", {}).get("S"),
        wecom_chat_ids=tuple(c["S"] for c in m.get("wecom_chat_ids", {}).get("L", [])),
        ways=tuple(_way_from_item(w["M"]) for w in m.get("ways", {}).get("L", [])),
        skip_verify=m.get("skip_verify", {}).get("BOOL", True),
        auto_create_room=m.get("auto_create_room", {}).get("BOOL", True),
        room_base_name=m.get("room_base_name", {}).get("S", ""),
    )


def _option_to_item(o: Option) -> Item:
    return {
        "M": {
            "id": s(o.id),
            "label": s(o.label),
            "description": s(o.description),
            "tag": s(o.tag),
            "strategy": s(o.strategy),
            **({"segment_id": s(o.segment_id)} if o.segment_id else {}),
        }
    }


def _option_from_item(m: Item) -> Option:
    segment_id = m.get("segment_id", {}).get("S")
    return Option(m["id"]["S"], m["label"]["S"], m["description"]["S"], m["tag"]["S"], m["strategy"]["S"], segment_id)


def _channel_to_item(c: Channel) -> Item:
    channel: Item = {"id": s(c.id), "name": s(c.name), "created_at": s(to_iso(c.created_at)), **_tags_to_item(c.tags)}
    if c.welcome:
        channel["welcome"] = _welcome_to_item(c.welcome)
    return {"M": channel}


def _channel_from_item(m: Item) -> Channel:
    return Channel(
        m["id"]["S"], m["name"]["S"], from_iso(m["created_at"]["S"]), _tags_from_item(m), _welcome_from_item(m)
    )


def _tags_to_item(tags: tuple[str, ...]) -> Item:
    return {"tags": {"L": [s(t) for t in tags]}} if tags else {}


def _tags_from_item(m: Item) -> tuple[str, ...]:
    return tuple(t["S"] for t in m.get("tags", {}).get("L", []))


def _optional(fields: dict[str, str | None]) -> Item:
    return {k: s(v) for k, v in fields.items() if v is not None}


def _welcome_to_item(w: Welcome) -> Item:
    welcome: Item = {"text": s(w.text), **_optional({"image_url": w.image_url})}
    if w.link:
        link = w.link
        welcome["link"] = {
            "M": _optional({"title": link.title, "url": link.url, "desc": link.desc, "picurl": link.picurl})
        }
    if w.miniprogram:
        mini = w.miniprogram
        welcome["miniprogram"] = {
            "M": _optional({"title": mini.title, "appid": mini.appid, "page": mini.page, "pic_url": mini.pic_url})
        }
    return {"M": welcome}


def _welcome_from_item(m: Item) -> Welcome | None:
    welcome = m.get("welcome", {}).get("M")
    if welcome is None:
        return None

    def text(fields: Item, name: str) -> str | None:
        value: str | None = fields.get(name, {}).get("S")
        return value

    link = welcome.get("link", {}).get("M")
    mini = welcome.get("miniprogram", {}).get("M")
    return Welcome(
        text=welcome["text"]["S"],
        link=WelcomeLink(link["title"]["S"], link["url"]["S"], text(link, "desc"), text(link, "picurl"))
        if link
        else None,
        image_url=text(welcome, "image_url"),
        miniprogram=WelcomeMiniprogram(mini["title"]["S"], mini["appid"]["S"], mini["page"]["S"], mini["pic_url"]["S"])
        if mini
        else None,
    )


def code_to_item(code: LiveCode) -> Item:
    # Microseconds keep codes created in the same second in creation order in the list index.
    created = to_precise_iso(code.created_at)
    item: Item = {
        "pk": s(_pk(code.id)),
        "sk": s(CODE_SK),
        "list_pk": s("CODE"),
        "list_sk": s(f"{created}#{code.id}"),
        "id": s(code.id),
        "name": s(code.name),
        "title": s(code.title),
        "guidance": s(code.guidance),
        "switch_threshold": n(code.switch_threshold),
        "fallback_text": s(code.fallback_text),
        "status": s(code.status),
        "created_at": s(created),
        "updated_at": s(to_iso(code.updated_at)),
        "version": n(code.version),
        "targets": {"L": [_target_to_item(t) for t in code.targets]},
        "kind": s(code.kind),
        "strategy": s(code.strategy),
        "time_zone": s(code.time_zone),
        "sticky_days": n(code.sticky_days),
        "options": {"L": [_option_to_item(o) for o in code.options]},
        "channels": {"L": [_channel_to_item(c) for c in code.channels]},
        "tags": {"L": [s(t) for t in code.tags]},
    }
    if code.welcome:
        item["welcome"] = _welcome_to_item(code.welcome)
    if code.backup_qr:
        item["backup_qr"] = {
            "M": {
                "url": s(code.backup_qr.url),
                "image_key": s(code.backup_qr.image_key),
                "qr_png": {"B": code.backup_qr.qr_png},
            }
        }
    return item


def code_from_item(item: Item) -> LiveCode:
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
        # Codes saved before tags and welcome messages existed have neither.
        tags=_tags_from_item(item),
        welcome=_welcome_from_item(item),
    )


class CodesTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name
        self._counters = ScanCounters(client, table_name)

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
            "ExpressionAttributeValues": {":pk": s(_pk(code_id))},
            "ConsistentRead": consistent,
        }
        for item in query_all(self._client, query):
            sk = item["sk"]["S"]
            if sk == CODE_SK:
                code = code_from_item(item)
            elif sk.startswith(SCANS_PREFIX):
                add_counter(counters, item)
        return code, counters

    def list_codes(self, status: str | None, limit: int, cursor: str | None) -> tuple[list[LiveCode], str | None]:
        """Codes newest first, one page at a time; `cursor` continues where the last page ended."""
        query = newest_first(self._table, "CODE", limit)
        if status:
            query["FilterExpression"] = "#status = :status"
            query["ExpressionAttributeNames"] = {"#status": "status"}
            query["ExpressionAttributeValues"][":status"] = s(status)
        items, next_cursor = query_page(self._client, query, cursor)
        return [code_from_item(i) for i in items], next_cursor

    # -- config writes -----------------------------------------------------------------
    # Admin writes SET only the config attributes, so the rotation job's state on the same item
    # (watch_json, lease) survives them; each write also makes the code due for the job, which
    # then re-evaluates its alerts within one schedule period.

    def create(self, code: LiveCode) -> None:
        item = code_to_item(code)
        item.update(due_pk=s(DUE), due_at=s(to_precise_iso(code.created_at)))
        self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")

    def save(self, code: LiveCode, now: datetime) -> LiveCode:
        """Write `code` if nobody changed it since it was read (else StaleVersion); returns the
        saved version."""
        saved = replace(code, version=code.version + 1, updated_at=now)
        try:
            self._client.update_item(TableName=self._table, **self._versioned_update(saved, now))
        except ClientError as error:
            if condition_failed(error):
                raise StaleVersion(code.id) from error
            raise
        return saved

    def save_without_target(self, code: LiveCode, target_id: str, now: datetime) -> LiveCode:
        """Save `code` (which no longer lists `target_id`) and drop that target's counters, atomically."""
        saved = replace(code, version=code.version + 1, updated_at=now)
        writes: list[Any] = [  # plain dicts; the client's TypedDicts are for type checking only
            {"Update": {"TableName": self._table, **self._versioned_update(saved, now)}},
            *(
                {"Delete": {"TableName": self._table, "Key": counter_key(code.id, target_id, shard)}}
                for shard in (None, *range(MAX_SHARDS))
            ),
        ]
        try:
            self._client.transact_write_items(TransactItems=writes)
        except ClientError as error:
            if condition_failed(error):
                raise StaleVersion(code.id) from error
            raise
        return saved

    def _versioned_update(self, saved: LiveCode, now: datetime) -> dict[str, Any]:
        item = code_to_item(saved)
        config = {k: v for k, v in item.items() if k not in ("pk", "sk")}
        names = {f"#{k}": k for k in config}
        values = {f":{k}": v for k, v in config.items()}
        assignments = [f"#{k} = :{k}" for k in config] + ["due_pk = :due_pk", "due_at = :due_at"]
        values.update({":read": n(saved.version - 1), ":due_pk": s(DUE), ":due_at": s(to_precise_iso(now))})
        update = "SET " + ", ".join(assignments)
        optional = {"backup_qr": saved.backup_qr, "welcome": saved.welcome}
        removed = [name for name, value in optional.items() if value is None]
        if removed:
            update += " REMOVE " + ", ".join(removed)
        return {
            "Key": {"pk": item["pk"], "sk": item["sk"]},
            "UpdateExpression": update,
            "ConditionExpression": "version = :read",
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
        }

    # -- what the rotation job reads and the scan path marks (the job's own view: alerts/watch_repository)

    def counters(self, code_id: str) -> dict[str, int]:
        """Scans per target (and ``fallback``), summed over the shards."""
        return self._counters.totals(code_id)

    def mark_due(self, code_id: str, now: datetime) -> None:
        """Ask the rotation job to look at this code on its next run."""
        self._client.update_item(
            TableName=self._table,
            Key=self._code_key(code_id),
            UpdateExpression="SET due_pk = :due, due_at = :now",
            ConditionExpression="attribute_exists(pk) AND #status = :active",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":due": s(DUE), ":now": s(to_precise_iso(now)), ":active": s("active")},
        )

    def _code_key(self, code_id: str) -> Item:
        return {"pk": s(_pk(code_id)), "sk": s(CODE_SK)}

    # -- counters (the scan path; see ``counters_repository``) ---------------------------------

    def count_scan(self, scan: ScanCount) -> ShardCount | None:
        """Count one scan on a shard under its quotas; None when it was full (``ScanCounters``)."""
        return self._counters.count_scan(scan)

    def count_fallback(self, code_id: str, shard: int) -> None:
        self._counters.count_fallback(code_id, shard)
