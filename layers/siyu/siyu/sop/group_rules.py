"""企业群发 (WeCom's group and customer mass messages) as SOP deliveries: pure rules.

A task is made by siyu (``add_msg_template``) and sent by its sender: nothing reaches a group until
the group's owner confirms it in their WeCom client. So a delivery's status after the task is made
is ``awaiting_staff``, and its results are read from WeCom until they settle:

- ``sent``: at least one recipient received it. A partly sent delivery is ``sent``; its ``counts``
  (sent / pending / not_sent) and ``results`` (per group or customer) say how much.
- ``not_sent``: nobody received it — the sender did not confirm within ``TASK_LIFE`` (the task is
  then cancelled), or every recipient was refused (WeCom status 2: not the sender's contact; 3:
  already received a 企业群发 today; or in the task's ``fail_list``; or over the one-a-day limit).
- ``failed``: WeCom refused to make the task (the sender's own error path).

``TASK_LIFE`` is siyu's, not WeCom's: three days, as long as WeCom keeps the uploaded picture.
A sender is reminded (``remind_groupmsg_send``) ``REMIND_AFTER`` after the task, and again after
each further ``REMIND_AFTER``, at most ``MAX_REMINDERS`` times (WeCom's quota is three a day).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from siyu.sop.rules import (
    AWAITING_STAFF,
    NOT_SENT,
    PENDING,
    SENT,
    Delivery,
    RecipientCounts,
    RecipientResult,
)

TASK_LIFE = timedelta(days=3)
CHECK_EVERY = timedelta(minutes=15)
REMIND_AFTER = timedelta(hours=4)
MAX_REMINDERS = 3
MAX_STORED_RESULTS = 2000  # per delivery; the counts always cover everyone
BATCH = 2000  # chat ids per add_msg_template task

# get_groupmsg_send_result's status
WECOM_PENDING, WECOM_SENT, WECOM_NOT_A_CONTACT, WECOM_ALREADY_TODAY = 0, 1, 2, 3
WECOM_REASONS = {
    WECOM_NOT_A_CONTACT: "not the sender's contact",
    WECOM_ALREADY_TODAY: "already received a 企业群发 message today",
}
REFUSED_AT_CREATION = "refused by WeCom when the task was made"
OVER_DAILY_LIMIT = "over WeCom's limit of one 企业群发 a day (another push reached it today)"
NOT_CONFIRMED = "the sender did not confirm the task in time"


def recipient_result(recipient: str, status: int, sender: str | None, sent_at: datetime | None) -> RecipientResult:
    """A WeCom send result (status 0-3) as siyu records it."""
    if status == WECOM_SENT:
        return RecipientResult(recipient, SENT, sender, None, sent_at)
    if status == WECOM_PENDING:
        return RecipientResult(recipient, PENDING, sender)
    return RecipientResult(recipient, NOT_SENT, sender, WECOM_REASONS.get(status, f"WeCom status {status}"))


def batches(chat_ids: Sequence[str], size: int = BATCH) -> list[tuple[str, ...]]:
    return [tuple(chat_ids[i : i + size]) for i in range(0, len(chat_ids), size)]


def by_owner(chat_ids: Iterable[str], owners: dict[str, str]) -> dict[str, list[str]]:
    """The groups of each owner, in order; groups without a known owner are left out."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for chat_id in chat_ids:
        if chat_id in owners:
            grouped[owners[chat_id]].append(chat_id)
    return dict(grouped)


@dataclass(frozen=True)
class Settlement:
    status: str  # awaiting_staff | sent | not_sent
    results: tuple[RecipientResult, ...]
    counts: RecipientCounts
    remind: bool = False
    cancel: bool = False  # the task outlived TASK_LIFE with recipients pending


def settle(delivery: Delivery, reported: Sequence[RecipientResult], now: datetime) -> Settlement:
    """What a task's results make of its delivery: the groups it was made for and not reported
    yet are pending; refused ones (at creation, over the limit) not sent."""
    created = delivery.task_created_at or delivery.created_at
    seen = {r.recipient: r for r in reported}
    refused = [r for r in delivery.results if r.reason == REFUSED_AT_CREATION and r.recipient not in seen]
    results = list(reported) + refused
    known = seen.keys() | {r.recipient for r in refused}
    results += [RecipientResult(c, PENDING, delivery.sender) for c in delivery.chat_ids if c not in known]
    results += [
        RecipientResult(c, NOT_SENT, delivery.sender, OVER_DAILY_LIMIT) for c in delivery.limited if c not in seen
    ]
    expired = now - created >= TASK_LIFE
    pending = sum(r.status == PENDING for r in results)
    # A tags task's customers are known only once WeCom reports them: none reported is still open.
    open_task = pending > 0 or (not delivery.chat_ids and not delivery.limited and not reported)
    if pending and expired:
        results = [_unconfirmed(r) if r.status == PENDING else r for r in results]
    counts = count(results)
    if open_task and not expired:
        due_reminder = now - created >= REMIND_AFTER * (delivery.reminders + 1)
        remind = delivery.reminders < MAX_REMINDERS and due_reminder and counts.sent == 0
        return Settlement(AWAITING_STAFF, tuple(results), counts, remind=remind)
    return Settlement(SENT if counts.sent else NOT_SENT, tuple(results), counts, cancel=open_task)


def _unconfirmed(result: RecipientResult) -> RecipientResult:
    return RecipientResult(result.recipient, NOT_SENT, result.sender, NOT_CONFIRMED)


def count(results: Iterable[RecipientResult]) -> RecipientCounts:
    statuses = [r.status for r in results]
    return RecipientCounts(statuses.count(SENT), statuses.count(PENDING), statuses.count(NOT_SENT))


def refused_results(refused: Sequence[str], sender: str | None) -> tuple[RecipientResult, ...]:
    return tuple(RecipientResult(r, NOT_SENT, sender, REFUSED_AT_CREATION) for r in refused)


# -- the log: per occurrence, and the confirmation rate per sender -----------------------------


def wecom_report(deliveries: Iterable[Delivery]) -> dict[str, Any]:
    """Per occurrence (scheduled_for, step): tasks and recipients sent / pending / not sent; per
    sender: tasks made, tasks confirmed (at least one recipient sent) and the confirmation rate."""
    occurrences: dict[tuple[str, str], dict[str, Any]] = {}
    senders: dict[str, dict[str, Any]] = {}
    for d in deliveries:
        if d.msgid is None and d.counts is None:
            continue
        counts = d.counts or RecipientCounts(pending=len(d.chat_ids))
        key = (d.scheduled_for.isoformat(), d.step_id)
        entry = occurrences.setdefault(
            key,
            {"scheduled_for": d.scheduled_for, "step_id": d.step_id, "step_name": d.step_name, "tasks": 0}
            | {"sent": 0, "pending": 0, "not_sent": 0},
        )
        entry["tasks"] += d.msgid is not None
        entry["sent"] += counts.sent
        entry["pending"] += counts.pending
        entry["not_sent"] += counts.not_sent
        if d.msgid is not None:
            guide = senders.setdefault(d.sender or "", {"sender": d.sender, "tasks": 0, "confirmed": 0})
            guide["tasks"] += 1
            guide["confirmed"] += counts.sent > 0
    for guide in senders.values():
        guide["confirmation_rate"] = round(guide["confirmed"] / guide["tasks"], 4) if guide["tasks"] else None
    return {
        "occurrences": sorted(occurrences.values(), key=lambda e: (e["scheduled_for"], e["step_id"]), reverse=True),
        "senders": sorted(senders.values(), key=lambda g: g["sender"] or ""),
    }
