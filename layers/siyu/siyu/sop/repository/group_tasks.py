"""A 企业群发 delivery's task: the groups it goes to after WeCom's one-a-day limit, the task made
for it and the results read back. Conditional updates on the delivery item (deliveries.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from siyu.core.clock import to_precise_iso
from siyu.sop.group_rules import MAX_STORED_RESULTS
from siyu.sop.repository.table import SEND_DUE, SopTableBase, delivery_key
from siyu.sop.rules import AWAITING_STAFF, SENDING, SENT, RecipientCounts, RecipientResult
from siyu.storage.codec import attr, n, s


def _results(results: Sequence[RecipientResult]) -> dict[str, Any]:
    return attr([asdict(r) for r in results[:MAX_STORED_RESULTS]])


class GroupTaskRecords(SopTableBase):
    def limit_chats(self, plan_id: str, delivery_id: str, chat_ids: Sequence[str], limited: Sequence[str]) -> None:
        self._client.update_item(
            TableName=self._table,
            Key=delivery_key(plan_id, delivery_id),
            UpdateExpression="SET cap_counted = :yes, chat_ids = :chats, #limited = :limited",
            ExpressionAttributeNames={"#limited": "limited"},
            ExpressionAttributeValues={
                ":yes": attr(True),
                ":chats": attr(list(chat_ids)),
                ":limited": attr(list(limited)),
            },
        )

    def task_created(
        self,
        plan_id: str,
        delivery_id: str,
        msgid: str,
        refused: Sequence[RecipientResult],
        at: datetime,
        check_at: datetime,
    ) -> None:
        """The task is made: awaiting_staff, checked from `check_at` through the send due index
        (only while the delivery is still being sent by us: status sending)."""
        self._client.update_item(
            TableName=self._table,
            Key=delivery_key(plan_id, delivery_id),
            UpdateExpression="SET #status = :awaiting, msgid = :msgid, task_created_at = :at, updated_at = :at, "
            "#results = :results, reminders = :zero, due_pk = :due, due_at = :check REMOVE lease_until",
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames={"#status": "status", "#results": "results"},
            ExpressionAttributeValues={
                ":awaiting": s(AWAITING_STAFF),
                ":sending": s(SENDING),
                ":msgid": s(msgid),
                ":at": s(to_precise_iso(at)),
                ":results": _results(refused),
                ":zero": n(0),
                ":due": s(SEND_DUE),
                ":check": s(to_precise_iso(check_at)),
            },
        )

    def record_results(
        self,
        plan_id: str,
        delivery_id: str,
        status: str,
        results: Sequence[RecipientResult],
        counts: RecipientCounts,
        at: datetime,
        check_at: datetime | None,
        reminders: int,
    ) -> bool:
        """The task's results, and its status; checked again at `check_at` (None: settled)."""
        values = {
            ":status": s(status),
            ":awaiting": s(AWAITING_STAFF),
            ":results": _results(results),
            ":counts": attr(asdict(counts)),
            ":at": s(to_precise_iso(at)),
            ":reminders": n(reminders),
        }
        sets = "#status = :status, #results = :results, #counts = :counts, updated_at = :at, reminders = :reminders"
        if status == SENT:
            sets += ", sent_at = if_not_exists(sent_at, :at)"
        if check_at is not None:
            sets += ", due_pk = :due, due_at = :check"
            values.update({":due": s(SEND_DUE), ":check": s(to_precise_iso(check_at))})
            update = f"SET {sets}"
        else:
            update = f"SET {sets} REMOVE due_pk, due_at"
        return self._conditional_update(
            delivery_key(plan_id, delivery_id),
            UpdateExpression=update,
            ConditionExpression="#status = :awaiting",
            ExpressionAttributeNames={"#status": "status", "#results": "results", "#counts": "counts"},
            ExpressionAttributeValues=values,
        )
