"""What the SOP services need from storage and from their neighbours, as protocols.

``siyu.sop.repository`` implements them on DynamoDB, SQS and S3; ``tests/fakes/sop.py`` in memory,
with the same conditions (a stale version raises StaleVersion, a taken lease or an existing
delivery is refused, the daily cap counts).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from siyu.delivery.outcome import SendOutcome
from siyu.live_codes.model import LiveCode
from siyu.sop.rules import Content, Delivery, Plan, RecipientCounts, RecipientResult
from siyu.wecom.records import GroupFact


@dataclass(frozen=True)
class PlanProgress:
    """How far the job has expanded a plan, and when it looks at it next (the due index)."""

    scanned_until: datetime
    due_at: str | None


class PlanStore(Protocol):
    items_read: int  # what this store's queries and reads returned (the job reports it)

    def create_plan(self, plan: Plan) -> None: ...

    def plan(self, plan_id: str) -> tuple[Plan, PlanProgress] | None:
        """The plan (consistent read) and the job's progress on it, or None."""
        ...

    def save_plan(self, plan: Plan, due_now: datetime | None = None, scanned_until: datetime | None = None) -> Plan:
        """Save `plan` as its next version; StaleVersion if someone saved it since it was read."""
        ...

    def list_plans(self, limit: int, cursor: str | None) -> tuple[list[Plan], str | None]: ...

    def due_plans(self, now: datetime) -> Iterator[tuple[str, str]]:
        """(plan id, due_at seen) of the plans due by `now`."""
        ...

    def claim_plan(self, plan_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        """Lease the plan to `run_id`, unless another run holds it or it was made due anew."""
        ...

    def finish_plan(self, plan_id: str, run_id: str, scanned_until: datetime, next_due: datetime | None) -> None:
        """Record the progress, queue the plan at `next_due` (None: not at all), release it."""
        ...


class DeliveryStore(Protocol):
    def create_delivery(self, delivery: Delivery, due_at: datetime | None) -> bool:
        """Create `delivery` (queued at `due_at`, if any) unless one with its key exists."""
        ...

    def due_deliveries(self, now: datetime) -> Iterator[tuple[str, str, str]]:
        """(plan id, delivery id, due_at seen) of the deliveries due by `now`."""
        ...

    def hand_over(self, plan_id: str, delivery_id: str, seen_due_at: str, until: datetime) -> bool:
        """Take a due delivery for the send queue; it comes due again at `until`."""
        ...

    def claim_delivery(self, plan_id: str, delivery_id: str, now: datetime, lease: timedelta) -> Delivery | None:
        """Take the delivery for sending (one more attempt), or None if it is not to be sent now."""
        ...

    def finish_delivery(self, plan_id: str, delivery_id: str, outcome: SendOutcome) -> None:
        """Record a send attempt's outcome (while the delivery is being sent)."""
        ...

    def mark_cap_counted(self, plan_id: str, delivery_id: str) -> None: ...

    def limit_chats(self, plan_id: str, delivery_id: str, chat_ids: Sequence[str], limited: Sequence[str]) -> None:
        """Record the groups a 企业群发 delivery goes to after WeCom's one-a-day limit (cap counted)."""
        ...

    def task_created(
        self,
        plan_id: str,
        delivery_id: str,
        msgid: str,
        refused: Sequence[RecipientResult],
        at: datetime,
        check_at: datetime,
    ) -> None:
        """Record the 企业群发 task made for a delivery being sent: awaiting_staff, checked at `check_at`."""
        ...

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
        """Record a task's results (only while the delivery awaits staff); `check_at` None: final."""
        ...

    def reminder_sent(self, plan_id: str, delivery_id: str, expires_at: datetime, at: datetime) -> None:
        """A reminder delivery being sent has reminded its guides: awaiting_staff until `expires_at`
        (it stays in the send due index until then)."""
        ...

    def confirm_reminder(self, plan_id: str, delivery_id: str, who: str, at: datetime) -> bool:
        """Mark a reminder delivery sent by `who` (only while it awaits staff); False otherwise."""
        ...

    def reminder_expired(self, plan_id: str, delivery_id: str, at: datetime, reason: str) -> bool:
        """not_sent: its task link expired unconfirmed (only while it awaits staff)."""
        ...

    def requeue(self, plan_id: str, delivery_id: str, now: datetime, from_statuses: tuple[str, ...]) -> bool:
        """Queue the delivery again now if its status is one of `from_statuses`."""
        ...

    def delivery(self, plan_id: str, delivery_id: str) -> Delivery | None: ...

    def deliveries(
        self, plan_id: str, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Delivery], str | None]:
        """The plan's delivery log, newest occurrence first."""
        ...


class DailyPushCounts(Protocol):
    def count_push(self, destination: str, day: str, cap: int) -> bool:
        """Count one push to `destination` on local `day` if it has had fewer than `cap`."""
        ...


class SopStore(PlanStore, DeliveryStore, DailyPushCounts, Protocol):
    """Plans, their deliveries and the daily push counts: one table."""


class SendQueue(Protocol):
    def send(self, deliveries: Sequence[tuple[str, str]]) -> None:
        """Put (plan id, delivery id) pairs on the send queue (at most 10 a call)."""
        ...


class CodeGroups(Protocol):
    """The live codes whose groups can be a plan's audience."""

    def load(self, code_id: str) -> tuple[LiveCode | None, object]: ...


class ImageFiles(Protocol):
    """The bucket that keeps the steps' images."""

    def put(self, key: str, body: bytes, content_type: str) -> str | None: ...

    def delete(self, key: str, version_id: str | None = None) -> None: ...

    def get(self, key: str) -> bytes: ...

    def download_url(self, key: str, seconds: int = 300) -> str: ...


class ChatDirectory(Protocol):
    """The customer groups WeCom's join ways sent a code's customers into (the WeCom feature's records)."""

    def groups_of_code(self, code_id: str) -> list[GroupFact]: ...


class GroupMessageRefused(Exception):
    """WeCom refused a 企业群发 call (an errcode other than busy or token trouble)."""


@dataclass(frozen=True)
class GroupTask:
    """One 企业群发 task: to customer groups (`chat_ids`, their owner `sender`) or to the customers
    with any of `tags` (``single``; `sender` optional)."""

    chat_type: str  # group | single
    sender: str | None
    chat_ids: tuple[str, ...]
    tags: tuple[str, ...]
    content: Content
    image: bytes | None = None  # the stored picture of an image, link or mini-program step
    picture_url: str = ""  # a link card's picture as a URL WeCom can fetch


class GroupMessenger(Protocol):
    """WeCom's 企业群发 (``siyu.wecom.group_messages`` implements it on ``WecomClient``)."""

    def connected(self) -> bool: ...

    def group_owners(self, chat_ids: Sequence[str]) -> dict[str, str]:
        """chat id -> the group owner's userid (groupchat/get); groups WeCom does not know are left out."""
        ...

    def create_task(self, task: GroupTask) -> tuple[str, list[str]]:
        """add_msg_template: the msgid and the recipients WeCom refused at once (fail_list);
        GroupMessageRefused when it refuses the task, Unavailable when out of reach."""
        ...

    def task_results(self, msgid: str) -> list[RecipientResult]:
        """Every sender's results (get_groupmsg_task, then get_groupmsg_send_result per sender)."""
        ...

    def remind(self, msgid: str) -> None: ...

    def cancel(self, msgid: str) -> None: ...


class StaffReminders(Protocol):
    """A WeCom app message to guides (``siyu.wecom.app_messages`` implements it on ``WecomClient``
    with the connection's agent id): reminder mode's ``wecom_users``."""

    def connected(self) -> bool: ...

    def remind(self, users: Sequence[str], card: dict[str, str]) -> None:
        """message/send, msgtype textcard (title, description, url, btntxt) to `users`;
        GroupMessageRefused when WeCom refuses it, Unavailable when out of reach."""
        ...
