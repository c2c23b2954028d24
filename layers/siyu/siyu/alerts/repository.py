"""All access to alert channels and the alert log in the DynamoDB table.

pk = ALERT_CHANNELS   sk = CHANNEL#<id>                 one alert channel
pk = ALERT#<code_id>  sk = <occurred_at>#<alert_id>     one alert message and its deliveries
                      (list_pk = ALERT in ListIndex: the log of every code, newest first)
"""

from __future__ import annotations

import json
import os

from botocore.exceptions import ClientError

from siyu.alerts.destinations import AlertChannel, AlertMessage
from siyu.core.clock import from_iso, to_iso, to_precise_iso
from siyu.live_codes.repository import LIST_INDEX, _s
from siyu.storage import aws
from siyu.storage.paging import LIST_KEYS, TABLE_KEYS, query_page

CHANNELS_PK = "ALERT_CHANNELS"
_OPTIONAL = ("url", "secret", "email", "code_id", "subscription_arn")


def record_key(message: AlertMessage) -> dict:
    return {"pk": _s(f"ALERT#{message.code_id}"), "sk": _s(f"{to_precise_iso(message.occurred_at)}#{message.id}")}


class AlertsTable:
    def __init__(self, client, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> AlertsTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- channels ----------------------------------------------------------------------

    def put_channel(self, channel: AlertChannel) -> None:
        item = {
            "pk": _s(CHANNELS_PK),
            "sk": _s(f"CHANNEL#{channel.id}"),
            "id": _s(channel.id),
            "name": _s(channel.name),
            "kind": _s(channel.kind),
            "created_at": _s(to_iso(channel.created_at)),
        }
        item.update({k: _s(getattr(channel, k)) for k in _OPTIONAL if getattr(channel, k)})
        self._client.put_item(TableName=self._table, Item=item)

    def channels(self) -> list[AlertChannel]:
        page = self._client.query(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(CHANNELS_PK)},
            ConsistentRead=True,
        )
        return [_channel(item) for item in page["Items"]]

    def delete_channel(self, channel_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key={"pk": _s(CHANNELS_PK), "sk": _s(f"CHANNEL#{channel_id}")})

    # -- the alert log -----------------------------------------------------------------

    def record_put(self, message: AlertMessage, deliveries: dict) -> dict:
        """A conditional Put of a new alert record (for a transaction): written at most once."""
        item = {
            **record_key(message),
            "list_pk": _s("ALERT"),
            "list_sk": _s(f"{to_precise_iso(message.occurred_at)}#{message.id}"),
            "message_json": _s(json.dumps(message.payload(), ensure_ascii=False)),
            "deliveries_json": _s(json.dumps(deliveries, sort_keys=True)),
            "status": _s(delivery_status(deliveries)),
        }
        return {"TableName": self._table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}

    def write_transition(self, watch_update: dict, record_puts: list[dict]) -> bool:
        """The code's new watch state and its new alert records, all or nothing.
        False when the lease was lost (another run owns the code now)."""
        items = [{"Update": watch_update}] + [{"Put": put} for put in record_puts]
        try:
            self._client.transact_write_items(TransactItems=items)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "TransactionCanceledException":
                return False
            raise
        return True

    def record(self, code_id: str, record_sk: str) -> tuple[AlertMessage, dict] | None:
        answer = self._client.get_item(
            TableName=self._table, Key={"pk": _s(f"ALERT#{code_id}"), "sk": _s(record_sk)}, ConsistentRead=True
        )
        item = answer.get("Item")
        return (_message(item), json.loads(item["deliveries_json"]["S"])) if item else None

    def update_deliveries(self, message: AlertMessage, deliveries: dict) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=record_key(message),
            UpdateExpression="SET deliveries_json = :d, #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":d": _s(json.dumps(deliveries, sort_keys=True)),
                ":status": _s(delivery_status(deliveries)),
            },
        )

    def log(self, code_id: str | None, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        """Alert records newest first, for one code or for all of them."""
        if code_id:
            kwargs = {
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": _s(f"ALERT#{code_id}")},
            }
        else:
            kwargs = {
                "IndexName": LIST_INDEX,
                "KeyConditionExpression": "list_pk = :kind",
                "ExpressionAttributeValues": {":kind": _s("ALERT")},
            }
        kwargs.update(TableName=self._table, ScanIndexForward=False, Limit=limit)
        items, next_cursor = query_page(self._client, kwargs, cursor, TABLE_KEYS if code_id else LIST_KEYS)
        entries = []
        for item in items:
            entry = json.loads(item["message_json"]["S"])
            entry.update(status=item["status"]["S"], deliveries=json.loads(item["deliveries_json"]["S"]))
            entries.append(entry)
        return entries, next_cursor


def delivery_status(deliveries: dict) -> str:
    """One word for a record: no_channel, pending, delivered, partly_failed or failed."""
    states = {d["status"] for d in deliveries.values()}
    if not states:
        return "no_channel"
    if "pending" in states:
        return "pending"
    if states == {"sent"}:
        return "delivered"
    return "failed" if "sent" not in states else "partly_failed"


def _channel(item: dict) -> AlertChannel:
    optional = {k: item[k]["S"] for k in _OPTIONAL if k in item}
    return AlertChannel(
        id=item["id"]["S"],
        name=item["name"]["S"],
        kind=item["kind"]["S"],
        created_at=from_iso(item["created_at"]["S"]),
        **optional,
    )


def _message(item: dict) -> AlertMessage:
    data = json.loads(item["message_json"]["S"])
    return AlertMessage(
        id=data["id"],
        code_id=data["code_id"],
        code_name=data["code_name"],
        event=data["event"],
        condition=data["condition"],
        severity=data["severity"],
        text=data["message"],
        occurred_at=from_iso(data["occurred_at"]),
    )
