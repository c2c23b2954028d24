"""In-memory SOP storage (``siyu.sop.ports``) with the repository's conditions: a stale version
raises StaleVersion, a plan leased to another run or a delivery being sent is refused, a
delivery is created once, the daily cap counts."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from siyu.core.clock import to_precise_iso
from siyu.core.errors import StaleVersion, Unavailable
from siyu.delivery.outcome import SendOutcome
from siyu.sop.group_rules import recipient_result
from siyu.sop.ports import GroupMessageRefused, GroupTask, PlanProgress
from siyu.sop.repository.plans import stored_document
from siyu.sop.rules import (
    AWAITING_STAFF,
    HELD,
    NOT_SENT,
    QUEUED,
    RETRY,
    SENDING,
    SENT,
    WAITING,
    Delivery,
    FailedAttempt,
    Plan,
    RecipientCounts,
    RecipientResult,
)
from siyu.wecom.records import GroupFact


class ConditionFailed(Exception):
    """A write whose condition did not hold and that the repository does not expect to fail
    (DynamoDB's ConditionalCheckFailedException, which the caller lets through)."""


@dataclass
class _PlanRecord:
    plan: Plan
    scanned_until: datetime
    due_at: str | None
    lease_owner: str | None = None
    lease_until: str | None = None


@dataclass
class FakeSopStore:
    plans: dict[str, _PlanRecord] = field(default_factory=dict)
    records: dict[tuple[str, str], Delivery] = field(default_factory=dict)
    pushes: dict[tuple[str, str], int] = field(default_factory=dict)
    items_read: int = 0

    # -- plans -----------------------------------------------------------------------------

    def create_plan(self, plan: Plan) -> None:
        if plan.id in self.plans:
            raise ConditionFailed(f"plan {plan.id} exists")
        stored_document(plan)  # the repository's size limit
        self.plans[plan.id] = _PlanRecord(plan, plan.created_at, to_precise_iso(plan.created_at))

    def plan(self, plan_id: str) -> tuple[Plan, PlanProgress] | None:
        record = self.plans.get(plan_id)
        if record is None:
            return None
        self.items_read += 1
        return record.plan, PlanProgress(record.scanned_until, record.due_at)

    def save_plan(self, plan: Plan, due_now: datetime | None = None, scanned_until: datetime | None = None) -> Plan:
        record = self.plans.get(plan.id)
        if record is None or record.plan.version != plan.version:
            raise StaleVersion(plan.id)
        stored_document(plan)
        record.plan = replace(plan, version=plan.version + 1)
        if due_now is not None:
            record.due_at = to_precise_iso(due_now)
        if scanned_until is not None:
            record.scanned_until = scanned_until
        return record.plan

    def list_plans(self, limit: int, cursor: str | None) -> tuple[list[Plan], str | None]:
        plans = sorted((r.plan for r in self.plans.values()), key=lambda p: (p.created_at, p.id), reverse=True)
        start = int(cursor or 0)
        following = start + limit
        return plans[start:following], str(following) if following < len(plans) else None

    def due_plans(self, now: datetime) -> Iterator[tuple[str, str]]:
        due = sorted((r.due_at, plan_id) for plan_id, r in self.plans.items() if _due(r.due_at, now))
        for due_at, plan_id in due:
            self.items_read += 1
            yield plan_id, due_at

    def claim_plan(self, plan_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        record = self.plans[plan_id]
        if record.due_at != seen_due_at or not _lease_free(record.lease_until, now):
            return False
        record.lease_owner, record.lease_until = run_id, to_precise_iso(now + lease)
        return True

    def finish_plan(self, plan_id: str, run_id: str, scanned_until: datetime, next_due: datetime | None) -> None:
        record = self.plans[plan_id]
        if record.lease_owner != run_id:
            return
        record.scanned_until = scanned_until
        record.due_at = to_precise_iso(next_due) if next_due else None
        record.lease_owner = record.lease_until = None

    # -- deliveries --------------------------------------------------------------------------

    def create_delivery(self, delivery: Delivery, due_at: datetime | None) -> bool:
        key = (delivery.plan_id, delivery.id)
        if key in self.records:
            return False
        self.records[key] = replace(delivery, attempts=0, due_at=to_precise_iso(due_at) if due_at else None)
        return True

    def due_deliveries(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        due = sorted((d.due_at, d.plan_id, d.id) for d in self.records.values() if _due(d.due_at, now))
        for due_at, plan_id, delivery_id in due:
            self.items_read += 1
            yield plan_id, delivery_id, due_at

    def hand_over(self, plan_id: str, delivery_id: str, seen_due_at: str, until: datetime) -> bool:
        delivery = self.records[(plan_id, delivery_id)]
        if delivery.due_at != seen_due_at:
            return False
        self._put(replace(delivery, due_at=to_precise_iso(until)))
        return True

    def claim_delivery(self, plan_id: str, delivery_id: str, now: datetime, lease: timedelta) -> Delivery | None:
        delivery = self.records.get((plan_id, delivery_id))
        if delivery is None:
            return None
        waiting = delivery.status in (QUEUED, WAITING, RETRY) and delivery.send_at <= now
        abandoned = delivery.status == SENDING and delivery.lease_until is not None and delivery.lease_until < now
        if not (waiting or abandoned):
            return None
        claimed = replace(delivery, status=SENDING, lease_until=now + lease, attempts=delivery.attempts + 1)
        self._put(claimed)
        return claimed

    def finish_delivery(self, plan_id: str, delivery_id: str, outcome: SendOutcome) -> None:
        delivery = self.records[(plan_id, delivery_id)]
        if delivery.status != SENDING:
            raise ConditionFailed(f"delivery {delivery_id} is {delivery.status}, not sending")
        changes: dict[str, Any] = {"status": outcome.status, "updated_at": outcome.at, "lease_until": None}
        if outcome.status == SENT:
            changes["sent_at"] = outcome.at
        if outcome.error is not None:
            changes["history"] = (*delivery.history, FailedAttempt(outcome.at, outcome.error[:500]))
            changes["last_error"] = outcome.error[:500]
        if outcome.reason is not None:
            changes["reason"] = outcome.reason
        if outcome.retry_at is not None:
            changes.update(due_at=to_precise_iso(outcome.retry_at), send_at=outcome.retry_at)
        else:
            changes["due_at"] = None
        self._put(replace(delivery, **changes))

    def mark_cap_counted(self, plan_id: str, delivery_id: str) -> None:
        self._put(replace(self.records[(plan_id, delivery_id)], cap_counted=True))

    def requeue(self, plan_id: str, delivery_id: str, now: datetime, from_statuses: tuple[str, ...]) -> bool:
        delivery = self.records.get((plan_id, delivery_id))
        if delivery is None or delivery.status not in from_statuses:
            return False
        queued = replace(delivery, status=QUEUED, send_at=now, due_at=to_precise_iso(now), cap_counted=False)
        self._put(replace(queued, reason=None))
        return True

    def delivery(self, plan_id: str, delivery_id: str) -> Delivery | None:
        return self.records.get((plan_id, delivery_id))

    def deliveries(
        self, plan_id: str, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Delivery], str | None]:
        found = sorted((d for (p, _), d in self.records.items() if p == plan_id), key=lambda d: d.id, reverse=True)
        start = int(cursor or 0)
        following = start + limit
        return found[start:following], str(following) if following < len(found) else None

    def limit_chats(self, plan_id: str, delivery_id: str, chat_ids: Sequence[str], limited: Sequence[str]) -> None:
        delivery = self.records[(plan_id, delivery_id)]
        self._put(replace(delivery, cap_counted=True, chat_ids=tuple(chat_ids), limited=tuple(limited)))

    def task_created(
        self,
        plan_id: str,
        delivery_id: str,
        msgid: str,
        refused: Sequence[RecipientResult],
        at: datetime,
        check_at: datetime,
    ) -> None:
        delivery = self.records[(plan_id, delivery_id)]
        if delivery.status != SENDING:
            raise ConditionFailed(f"delivery {delivery_id} is {delivery.status}, not sending")
        changes: dict[str, Any] = {"status": AWAITING_STAFF, "msgid": msgid, "task_created_at": at}
        changes.update(updated_at=at, results=tuple(refused), reminders=0, lease_until=None)
        self._put(replace(delivery, due_at=to_precise_iso(check_at), **changes))

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
        delivery = self.records[(plan_id, delivery_id)]
        if delivery.status != AWAITING_STAFF:
            return False
        changes: dict[str, Any] = {"status": status, "results": tuple(results), "counts": counts}
        changes.update(updated_at=at, reminders=reminders, due_at=to_precise_iso(check_at) if check_at else None)
        if status == SENT and delivery.sent_at is None:
            changes["sent_at"] = at
        self._put(replace(delivery, **changes))
        return True

    def reminder_sent(self, plan_id: str, delivery_id: str, expires_at: datetime, at: datetime) -> None:
        delivery = self.records[(plan_id, delivery_id)]
        if delivery.status != SENDING:
            raise ConditionFailed(f"delivery {delivery_id} is {delivery.status}, not sending")
        changes: dict[str, Any] = {"status": AWAITING_STAFF, "task_expires_at": expires_at, "updated_at": at}
        self._put(replace(delivery, lease_until=None, due_at=to_precise_iso(expires_at), **changes))

    def confirm_reminder(self, plan_id: str, delivery_id: str, who: str, at: datetime) -> bool:
        delivery = self.records.get((plan_id, delivery_id))
        if delivery is None or delivery.status != AWAITING_STAFF:
            return False
        changes: dict[str, Any] = {"status": SENT, "confirmed_by": who, "sent_at": at, "updated_at": at}
        self._put(replace(delivery, due_at=None, **changes))
        return True

    def reminder_expired(self, plan_id: str, delivery_id: str, at: datetime, reason: str) -> bool:
        delivery = self.records.get((plan_id, delivery_id))
        if delivery is None or delivery.status != AWAITING_STAFF:
            return False
        self._put(replace(delivery, status=NOT_SENT, reason=reason, updated_at=at, due_at=None))
        return True

    # -- the daily cap ---------------------------------------------------------------------------

    def count_push(self, destination: str, day: str, cap: int) -> bool:
        pushes = self.pushes.get((destination, day), 0)
        if pushes >= cap:
            return False
        self.pushes[(destination, day)] = pushes + 1
        return True

    # -- for tests ----------------------------------------------------------------------------------

    def of_plan(self, plan_id: str) -> list[Delivery]:
        return sorted((d for (p, _), d in self.records.items() if p == plan_id), key=lambda d: d.id)

    def held(self, plan_id: str) -> list[Delivery]:
        return [d for d in self.of_plan(plan_id) if d.status == HELD]

    def _put(self, delivery: Delivery) -> None:
        self.records[(delivery.plan_id, delivery.id)] = delivery


@dataclass
class FakeSendQueue:
    sent: list[tuple[str, str]] = field(default_factory=list)

    def send(self, deliveries: Sequence[tuple[str, str]]) -> None:
        assert len(deliveries) <= 10, "SQS takes at most ten messages a call"
        self.sent.extend(deliveries)

    def take(self) -> list[tuple[str, str]]:
        taken, self.sent = self.sent, []
        return taken


@dataclass
class FakeCodeGroups:
    codes: dict[str, Any] = field(default_factory=dict)

    def load(self, code_id: str) -> tuple[Any, object]:
        return self.codes.get(code_id), None


@dataclass
class FakeFiles:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put(self, key: str, body: bytes, content_type: str) -> str | None:
        self.objects[key] = body
        return None

    def delete(self, key: str, version_id: str | None = None) -> None:
        self.objects.pop(key, None)

    def get(self, key: str) -> bytes:
        return self.objects[key]

    def download_url(self, key: str, seconds: int = 300) -> str:
        return f"https://files.example/{key}?expires={seconds}"


def _due(due_at: str | None, now: datetime) -> bool:
    return due_at is not None and due_at <= to_precise_iso(now)


def _lease_free(lease_until: str | None, now: datetime) -> bool:
    return lease_until is None or lease_until < to_precise_iso(now)


@dataclass
class FakeChats:
    """The WeCom feature's record of the groups a code's join ways filled (``groups_of_code``)."""

    groups: dict[str, list[GroupFact]] = field(default_factory=dict)

    def groups_of_code(self, code_id: str) -> list[GroupFact]:
        return list(self.groups.get(code_id, []))


@dataclass
class _Task:
    msgid: str
    task: GroupTask
    day: str
    recipients: dict[str, RecipientResult]  # recipient -> its result (pending until the sender confirms)
    reminders: int = 0
    cancelled: bool = False


@dataclass
class FakeGroupMessenger:
    """WeCom's 企业群发 in memory, with its rules: a group task's sender must own each group (others
    are in fail_list); nothing is sent until the sender confirms (``confirm``); a recipient gets one
    企业群发 a day (status 3 for the next); a customer not the sender's contact is status 2; at most
    three reminders a task; a cancelled task cannot be confirmed."""

    owners: dict[str, str] = field(default_factory=dict)  # chat id -> owner userid
    tagged: dict[str, tuple[str, str]] = field(default_factory=dict)  # customer -> (tag, guide)
    is_connected: bool = True
    refuse: str | None = None  # make create_task answer this errcode text
    unavailable: bool = False
    tasks: dict[str, _Task] = field(default_factory=dict)
    received: dict[tuple[str, str], str] = field(default_factory=dict)  # (recipient, day) -> msgid
    owner_reads: int = 0

    def connected(self) -> bool:
        return self.is_connected

    def group_owners(self, chat_ids: Sequence[str]) -> dict[str, str]:
        self.owner_reads += len(chat_ids)
        return {c: self.owners[c] for c in chat_ids if c in self.owners}

    def create_task(self, task: GroupTask) -> tuple[str, list[str]]:
        if self.unavailable:
            raise Unavailable("WeCom (add_msg_template) could not be reached; try again later")
        if self.refuse:
            raise GroupMessageRefused(f"WeCom add_msg_template answered errcode {self.refuse}")
        assert len(task.chat_ids) <= 2000, "add_msg_template takes at most 2000 chat ids"
        msgid = f"msg{len(self.tasks) + 1}"
        if task.chat_type == "group":
            fail = [c for c in task.chat_ids if self.owners.get(c) != task.sender]
            recipients = {c: RecipientResult(c, "pending", task.sender) for c in task.chat_ids if c not in fail}
        else:
            fail = []
            recipients = {
                customer: RecipientResult(customer, "pending", guide)
                for customer, (tag, guide) in self.tagged.items()
                if tag in task.tags and (task.sender is None or guide == task.sender)
            }
        self.tasks[msgid] = _Task(msgid, task, "", recipients)
        return msgid, fail

    def confirm(self, msgid: str, sender: str, day: str, at: datetime) -> None:
        """The sender taps send in WeCom (the emulator's /_emulator/groupmsg/{msgid}/confirm)."""
        task = self.tasks[msgid]
        assert not task.cancelled, "a cancelled task cannot be sent"
        for recipient, result in list(task.recipients.items()):
            if result.sender != sender or result.status != "pending":
                continue
            taken = (recipient, day) in self.received
            status = 3 if taken else 1
            if not taken:
                self.received[(recipient, day)] = msgid
            task.recipients[recipient] = recipient_result(recipient, status, sender, at)

    def task_results(self, msgid: str) -> list[RecipientResult]:
        if self.unavailable:
            raise Unavailable("WeCom (get_groupmsg_send_result) could not be reached; try again later")
        return list(self.tasks[msgid].recipients.values())

    def remind(self, msgid: str) -> None:
        task = self.tasks[msgid]
        if task.reminders >= 3:
            raise GroupMessageRefused("WeCom remind_groupmsg_send answered errcode 41063: reminded too often")
        task.reminders += 1

    def cancel(self, msgid: str) -> None:
        self.tasks[msgid].cancelled = True


@dataclass
class FakeStaffReminders:
    """WeCom's app messages (message/send, textcard) in memory."""

    is_connected: bool = True
    refuse: bool = False
    unavailable: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)  # {users, title, description, url, btntxt}

    def connected(self) -> bool:
        return self.is_connected

    def remind(self, users: Sequence[str], card: dict[str, str]) -> None:
        if self.unavailable:
            raise Unavailable("WeCom (message/send) could not be reached; try again later")
        if self.refuse:
            raise GroupMessageRefused("WeCom message/send answered errcode 81013: no valid user")
        self.sent.append({"users": list(users), **card})
