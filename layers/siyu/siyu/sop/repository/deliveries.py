"""SOP deliveries: one item per (occurrence, step, destination), native attributes.

    pk = PLAN#<plan_id>   sk = DELIVERY#<id>   id, plan_id, step_id, step_name, target_key,
                                               target_name, channel, scheduled_for, send_at,
                                               status, reason, created_at, attempts,
                                               cap_counted, sent_at, updated_at, last_error,
                                               history [{at, error}], lease_until;
                                               due_pk=SOPSEND/due_at while it waits to be sent
                                               (or, awaiting staff, to be checked); 企业群发:
                                               sender, chat_ids, limited, msgid, task_created_at,
                                               reminders, results [{recipient, status, ...}],
                                               counts {sent, pending, not_sent} (group_tasks.py);
                                               reminder mode: task_expires_at, confirmed_by
                                               (reminders.py)

A delivery's id is its key: created with a conditional put, so two job runs at once create it
once, and a conditional claim lets only one sender send it.

Two conditional writes here are not the due queue's lease (``DueQueue.claim``/``finish``, which
hold through ``lease_owner``): the hand-over moves a due delivery's due time (no lease at all:
if the send never happens, the job hands it over again then), and the sender's claim is a lease
held by the delivery's *status*: it sets ``status = sending``, counts the attempt and takes
``lease_until`` in one write, and the outcome is recorded while the status is still ``sending``.
``DueQueue.claim`` only writes ``lease_until``, so it cannot express that claim without a second,
non-atomic write.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from siyu.core.clock import from_iso, to_precise_iso
from siyu.delivery.outcome import SendOutcome
from siyu.sop.repository.table import DELIVERY_PREFIX, SEND_DUE, SopTableBase, delivery_key, plan_pk
from siyu.sop.rules import (
    QUEUED,
    RETRY,
    SENDING,
    SENT,
    WAITING,
    Delivery,
    FailedAttempt,
    RecipientCounts,
    RecipientResult,
)
from siyu.storage.codec import Item, attr, condition_failed, n, plain_item, s
from siyu.storage.paging import TABLE_KEYS, query_page

ERROR_CHARS = 500  # of a failed attempt's error, as recorded


def delivery_item(delivery: Delivery) -> Item:
    """The item of a new delivery (attempts 0); the queue attributes are added by the caller."""
    fields: dict[str, Any] = {
        "id": delivery.id,
        "plan_id": delivery.plan_id,
        "step_id": delivery.step_id,
        "step_name": delivery.step_name,
        "target_key": delivery.destination_key,
        "target_name": delivery.destination_name,
        "channel": delivery.channel,
        "scheduled_for": delivery.scheduled_for,
        "send_at": delivery.send_at,
        "status": delivery.status,
        "reason": delivery.reason,
        "created_at": delivery.created_at,
        "sender": delivery.sender,
        "chat_ids": list(delivery.chat_ids) or None,
    }
    item = {name: attr(value) for name, value in fields.items() if value is not None}
    item.update(pk=s(plan_pk(delivery.plan_id)), sk=s(DELIVERY_PREFIX + delivery.id), attempts=n(0))
    return item


def delivery_from_item(item: Item) -> Delivery:
    raw = plain_item(item)

    def instant(name: str) -> datetime | None:
        value = raw.get(name)
        return from_iso(value) if value else None

    return Delivery(
        id=raw["sk"].removeprefix(DELIVERY_PREFIX),
        plan_id=raw["plan_id"],
        step_id=raw["step_id"],
        step_name=raw["step_name"],
        destination_key=raw["target_key"],
        destination_name=raw["target_name"],
        channel=raw["channel"],
        scheduled_for=from_iso(raw["scheduled_for"]),
        send_at=from_iso(raw["send_at"]),
        status=raw["status"],
        created_at=from_iso(raw["created_at"]),
        reason=raw.get("reason"),
        attempts=raw.get("attempts", 0),
        cap_counted=raw.get("cap_counted"),
        sent_at=instant("sent_at"),
        updated_at=instant("updated_at"),
        last_error=raw.get("last_error"),
        history=tuple(FailedAttempt(from_iso(h["at"]), h["error"]) for h in raw.get("history", ())),
        lease_until=instant("lease_until"),
        due_at=raw.get("due_at"),
        sender=raw.get("sender"),
        chat_ids=tuple(raw.get("chat_ids", ())),
        limited=tuple(raw.get("limited", ())),
        msgid=raw.get("msgid"),
        task_created_at=instant("task_created_at"),
        reminders=raw.get("reminders", 0),
        results=tuple(
            RecipientResult(
                r["recipient"],
                r["status"],
                r.get("sender"),
                r.get("reason"),
                from_iso(r["sent_at"]) if r.get("sent_at") else None,
            )
            for r in raw.get("results", ())
        ),
        counts=RecipientCounts(**raw["counts"]) if raw.get("counts") else None,
        task_expires_at=instant("task_expires_at"),
        confirmed_by=raw.get("confirmed_by"),
    )


class DeliveryRecords(SopTableBase):
    def create_delivery(self, delivery: Delivery, due_at: datetime | None) -> bool:
        """Create a delivery unless it exists (the key is the exactly-once guard)."""
        item = delivery_item(delivery)
        if due_at is not None:
            item.update(self._sends_due.schedule(due_at))
        try:
            self._client.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as error:
            if condition_failed(error):
                return False
            raise
        return True

    def due_deliveries(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        """(plan id, delivery id, due_at seen) of deliveries waiting to be sent."""
        for item in self._sends_due.due(now):
            self.items_read += 1
            yield (
                item["pk"]["S"].removeprefix("PLAN#"),
                item["sk"]["S"].removeprefix(DELIVERY_PREFIX),
                item["due_at"]["S"],
            )

    def hand_over(self, plan_id: str, delivery_id: str, seen_due_at: str, until: datetime) -> bool:
        """Take a due delivery for sending: its next due time becomes `until` (if the send never
        happens, the job hands it over again then)."""
        return self._conditional_update(
            delivery_key(plan_id, delivery_id),
            UpdateExpression="SET due_at = :until",
            ConditionExpression="due_at = :seen",
            ExpressionAttributeValues={":until": s(to_precise_iso(until)), ":seen": s(seen_due_at)},
        )

    def claim_delivery(self, plan_id: str, delivery_id: str, now: datetime, lease: timedelta) -> Delivery | None:
        """Mark the delivery as being sent by this sender, or None if it is sent, being sent,
        finished, or not due yet."""
        try:
            answer = self._client.update_item(
                TableName=self._table,
                Key=delivery_key(plan_id, delivery_id),
                UpdateExpression="SET #status = :sending, lease_until = :until ADD attempts :one",
                ConditionExpression="(#status IN (:queued, :waiting, :retry) AND send_at <= :now) "
                "OR (#status = :sending AND lease_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sending": s(SENDING),
                    ":queued": s(QUEUED),
                    ":waiting": s(WAITING),
                    ":retry": s(RETRY),
                    ":until": s(to_precise_iso(now + lease)),
                    ":now": s(to_precise_iso(now)),
                    ":one": n(1),
                },
                ReturnValues="ALL_NEW",
            )
        except ClientError as error:
            if condition_failed(error):
                return None
            raise
        return delivery_from_item(answer["Attributes"])

    def finish_delivery(self, plan_id: str, delivery_id: str, outcome: SendOutcome) -> None:
        """Record the outcome of a send attempt (only while this delivery is ours: status sending)."""
        values = {":status": s(outcome.status), ":sending": s(SENDING), ":now": s(to_precise_iso(outcome.at))}
        sets = ["#status = :status", "updated_at = :now"]
        removes = ["lease_until"]
        if outcome.status == SENT:
            sets.append("sent_at = :now")
        if outcome.error is not None:
            values[":attempt"] = attr([{"at": to_precise_iso(outcome.at), "error": outcome.error[:ERROR_CHARS]}])
            values[":empty"] = attr([])
            sets.append("history = list_append(if_not_exists(history, :empty), :attempt)")
            sets.append("last_error = :error")
            values[":error"] = s(outcome.error[:ERROR_CHARS])
        if outcome.reason is not None:
            sets.append("reason = :reason")
            values[":reason"] = s(outcome.reason)
        if outcome.retry_at is not None:
            sets += ["due_pk = :due", "due_at = :retry", "send_at = :retry"]
            values.update({":due": s(SEND_DUE), ":retry": s(to_precise_iso(outcome.retry_at))})
        else:
            removes += ["due_pk", "due_at"]
        self._client.update_item(
            TableName=self._table,
            Key=delivery_key(plan_id, delivery_id),
            UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues=values,
        )

    def mark_cap_counted(self, plan_id: str, delivery_id: str) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=delivery_key(plan_id, delivery_id),
            UpdateExpression="SET cap_counted = :yes",
            ExpressionAttributeValues={":yes": attr(True)},
        )

    def requeue(self, plan_id: str, delivery_id: str, now: datetime, from_statuses: tuple[str, ...]) -> bool:
        """Send a delivery again (resend of a failed one, a held one after resume)."""
        placeholders = {f":from{i}": s(status) for i, status in enumerate(from_statuses)}
        return self._conditional_update(
            delivery_key(plan_id, delivery_id),
            UpdateExpression="SET #status = :queued, send_at = :now, due_pk = :due, due_at = :now, "
            "cap_counted = :no REMOVE reason",
            ConditionExpression=f"#status IN ({', '.join(placeholders)})",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":queued": s(QUEUED),
                ":now": s(to_precise_iso(now)),
                ":due": s(SEND_DUE),
                ":no": attr(False),
                **placeholders,
            },
        )

    def delivery(self, plan_id: str, delivery_id: str) -> Delivery | None:
        item = self._client.get_item(
            TableName=self._table, Key=delivery_key(plan_id, delivery_id), ConsistentRead=True
        ).get("Item")
        return delivery_from_item(item) if item else None

    def deliveries(
        self, plan_id: str, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Delivery], str | None]:
        """The plan's delivery log, newest occurrence first."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": s(plan_pk(plan_id)), ":prefix": s(DELIVERY_PREFIX)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        items, next_cursor = query_page(self._client, query, cursor, TABLE_KEYS)
        return [delivery_from_item(i) for i in items], next_cursor
