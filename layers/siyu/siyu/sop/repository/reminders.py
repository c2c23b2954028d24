"""A reminder delivery's task: reminded (awaiting staff until its link expires, due again then in
the send due index), marked sent on the task page (who and when), or expired unconfirmed.
Conditional updates on the delivery item (deliveries.py)."""

from __future__ import annotations

from datetime import datetime

from siyu.core.clock import to_precise_iso
from siyu.sop.repository.table import SEND_DUE, SopTableBase, delivery_key
from siyu.sop.rules import AWAITING_STAFF, NOT_SENT, REMINDER, SENDING, SENT
from siyu.storage.codec import s


class ReminderRecords(SopTableBase):
    def reminder_sent(self, plan_id: str, delivery_id: str, expires_at: datetime, at: datetime) -> None:
        """The guides are reminded: awaiting_staff, due again at the link's expiry (only while the
        delivery is still being sent by us: status sending)."""
        expires = s(to_precise_iso(expires_at))
        self._client.update_item(
            TableName=self._table,
            Key=delivery_key(plan_id, delivery_id),
            UpdateExpression="SET #status = :awaiting, task_expires_at = :expires, updated_at = :at, "
            "due_pk = :due, due_at = :expires REMOVE lease_until",
            ConditionExpression="#status = :sending",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":awaiting": s(AWAITING_STAFF),
                ":sending": s(SENDING),
                ":expires": expires,
                ":at": s(to_precise_iso(at)),
                ":due": s(SEND_DUE),
            },
        )

    def confirm_reminder(self, plan_id: str, delivery_id: str, who: str, at: datetime) -> bool:
        """已发送 on the task page: sent by `who` at `at` (once: only while it awaits staff)."""
        return self._conditional_update(
            delivery_key(plan_id, delivery_id),
            UpdateExpression="SET #status = :sent, confirmed_by = :who, sent_at = :at, updated_at = :at "
            "REMOVE due_pk, due_at",
            ConditionExpression="#status = :awaiting AND channel = :reminder",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":sent": s(SENT),
                ":who": s(who),
                ":at": s(to_precise_iso(at)),
                ":awaiting": s(AWAITING_STAFF),
                ":reminder": s(REMINDER),
            },
        )

    def reminder_expired(self, plan_id: str, delivery_id: str, at: datetime, reason: str) -> bool:
        """The task link expired unconfirmed: not_sent (only while it awaits staff)."""
        return self._conditional_update(
            delivery_key(plan_id, delivery_id),
            UpdateExpression="SET #status = :not_sent, reason = :reason, updated_at = :at REMOVE due_pk, due_at",
            ConditionExpression="#status = :awaiting AND channel = :reminder",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":not_sent": s(NOT_SENT),
                ":reason": s(reason),
                ":at": s(to_precise_iso(at)),
                ":awaiting": s(AWAITING_STAFF),
                ":reminder": s(REMINDER),
            },
        )
