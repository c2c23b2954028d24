"""All access to alert destinations and the alert log in the DynamoDB table, and to the SNS topic.

pk = ALERT_CHANNELS   sk = CHANNEL#<id>                 one alert destination
pk = ALERT#<code_id>  sk = <occurred_at>#<alert_id>     one alert message and its deliveries
                      (list_pk = ALERT in ListIndex: the log of every code, newest first)
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from siyu.alerts.destinations import AlertDestination, AlertMessage
from siyu.alerts.records import AlertRecord, DeliveryState, delivery_document
from siyu.core.clock import from_iso, to_iso
from siyu.delivery.sender import DeliveryFailed
from siyu.storage import aws
from siyu.storage.codec import Item, s, text
from siyu.storage.paging import LIST_KEYS, TABLE_KEYS, query_all, query_page
from siyu.storage.table import newest_first

if TYPE_CHECKING:  # the stubs are a development dependency, not in the layer
    from siyu.storage.client_types import DynamoDBClient, SNSClient

DESTINATIONS_PK = "ALERT_CHANNELS"
DESTINATION_PREFIX = "CHANNEL#"
LOG_KIND = "ALERT"
_OPTIONAL = ("url", "secret", "email", "code_id", "subscription_arn")


def record_key(code_id: str, ref: str) -> Item:
    return {"pk": s(f"ALERT#{code_id}"), "sk": s(ref)}


def new_record_put(table: str, record: AlertRecord) -> dict[str, Any]:
    """The conditional Put of a new alert record, for the transaction that stores a code's watch
    state with its new records (``watch_repository``): each record is written at most once."""
    message = record.message
    item = {
        **record_key(message.code_id, message.ref),
        "list_pk": s(LOG_KIND),
        "list_sk": s(message.ref),
        "message_json": s(json.dumps(message.payload(), ensure_ascii=False)),
        "deliveries_json": s(_deliveries_json(record)),
        "status": s(record.status),
    }
    return {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}


class AlertsTable:
    def __init__(self, client: DynamoDBClient, table_name: str):
        self._client = client
        self._table = table_name

    @classmethod
    def from_environment(cls) -> AlertsTable:
        return cls(aws.dynamodb(), os.environ["TABLE_NAME"])

    # -- destinations ------------------------------------------------------------------

    def put_destination(self, destination: AlertDestination) -> None:
        item = {
            "pk": s(DESTINATIONS_PK),
            "sk": s(DESTINATION_PREFIX + destination.id),
            "id": s(destination.id),
            "name": s(destination.name),
            "kind": s(destination.kind),
            "created_at": s(to_iso(destination.created_at)),
        }
        for name in _OPTIONAL:
            value = getattr(destination, name)
            if value:
                item[name] = s(value)
        self._client.put_item(TableName=self._table, Item=item)

    def destinations(self) -> list[AlertDestination]:
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": s(DESTINATIONS_PK)},
            "ConsistentRead": True,
        }
        return [_destination(item) for item in query_all(self._client, query)]

    def delete_destination(self, destination_id: str) -> None:
        key = {"pk": s(DESTINATIONS_PK), "sk": s(DESTINATION_PREFIX + destination_id)}
        self._client.delete_item(TableName=self._table, Key=key)

    # -- the alert log -----------------------------------------------------------------

    def record(self, code_id: str, ref: str) -> AlertRecord | None:
        answer = self._client.get_item(TableName=self._table, Key=record_key(code_id, ref), ConsistentRead=True)
        item = answer.get("Item")
        return _record(item) if item else None

    def update_deliveries(self, record: AlertRecord) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=record_key(record.message.code_id, record.message.ref),
            UpdateExpression="SET deliveries_json = :d, #status = :status",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":d": s(_deliveries_json(record)), ":status": s(record.status)},
        )

    def log(self, code_id: str | None, limit: int, cursor: str | None) -> tuple[list[AlertRecord], str | None]:
        """Alert records newest first, for one code or for all of them."""
        if code_id:
            query: dict[str, Any] = {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": s(f"ALERT#{code_id}")},
                "ScanIndexForward": False,
                "Limit": limit,
            }
        else:
            query = newest_first(self._table, LOG_KIND, limit)
        items, next_cursor = query_page(self._client, query, cursor, TABLE_KEYS if code_id else LIST_KEYS)
        return [_record(item) for item in items], next_cursor


class AlertTopic:
    """The stack's SNS topic for e-mail alerts (ALERT_TOPIC_ARN); each e-mail destination's
    subscription filters on its own id, so each destination gets one copy."""

    def __init__(self, client: SNSClient, topic_arn: str | None):
        self._client = client
        self._arn = topic_arn or None

    @classmethod
    def from_environment(cls) -> AlertTopic:
        return cls(aws.sns(), os.environ.get("ALERT_TOPIC_ARN"))

    @property
    def configured(self) -> bool:
        return self._arn is not None

    def publish(self, destination_id: str, message: AlertMessage) -> None:
        if self._arn is None:
            raise DeliveryFailed("no ALERT_TOPIC_ARN configured for e-mail alerts")
        try:
            self._client.publish(
                TopicArn=self._arn,
                Subject=f"[siyu] {message.event}: {message.condition}"[:100],
                Message=f"{message.headline()}\n\n{message.text}\n\n"
                + json.dumps(message.payload(), ensure_ascii=False),
                MessageAttributes={
                    "channel_id": {"DataType": "String", "StringValue": destination_id},
                    "code_id": {"DataType": "String", "StringValue": message.code_id},
                },
            )
        except Exception as error:  # botocore errors of every kind
            raise DeliveryFailed(f"SNS publish failed: {error}") from error

    def subscribe(self, destination_id: str, email: str) -> str | None:
        if self._arn is None:
            raise ValueError("no alert topic to subscribe to")
        answer = self._client.subscribe(
            TopicArn=self._arn,
            Protocol="email",
            Endpoint=email,
            # Only messages published for this destination reach this address.
            Attributes={"FilterPolicy": json.dumps({"channel_id": [destination_id]})},
            ReturnSubscriptionArn=True,
        )
        return answer.get("SubscriptionArn")

    def unsubscribe(self, subscription_arn: str) -> None:
        self._client.unsubscribe(SubscriptionArn=subscription_arn)


def _deliveries_json(record: AlertRecord) -> str:
    return json.dumps({k: delivery_document(v) for k, v in record.deliveries.items()}, sort_keys=True)


def _delivery(document: dict[str, Any]) -> DeliveryState:
    def instant(name: str) -> Any:
        value = document.get(name)
        return from_iso(value) if value is not None else None

    return DeliveryState(
        status=document["status"],
        attempts=int(document.get("attempts", 0)),
        next_attempt_at=instant("next_attempt_at"),
        last_error=document.get("last_error"),
        sent_at=instant("sent_at"),
    )


def _record(item: Item) -> AlertRecord:
    data = json.loads(item["message_json"]["S"])
    message = AlertMessage(
        id=data["id"],
        code_id=data["code_id"],
        code_name=data["code_name"],
        event=data["event"],
        condition=data["condition"],
        severity=data["severity"],
        text=data["message"],
        occurred_at=from_iso(data["occurred_at"]),
    )
    deliveries = json.loads(item["deliveries_json"]["S"])
    return AlertRecord(message, {k: _delivery(v) for k, v in deliveries.items()})


def _destination(item: Item) -> AlertDestination:
    return AlertDestination(
        id=item["id"]["S"],
        name=item["name"]["S"],
        kind=item["kind"]["S"],
        created_at=from_iso(item["created_at"]["S"]),
        url=text(item, "url"),
        secret=text(item, "secret"),
        email=text(item, "email"),
        code_id=text(item, "code_id"),
        subscription_arn=text(item, "subscription_arn"),
    )
