"""The sender's 企业群发 path: a delivery to customer groups (or to tagged customers) becomes one
``add_msg_template`` task, and its results are read back until they settle (``group_rules``).

Exactly once, and its limit: the delivery is claimed (status ``sending``, with a lease) before the
task is made, and the task's msgid is recorded while the claim holds; two senders never both make
it. A crash after WeCom made the task and before the msgid is recorded leaves the delivery
``sending``; once its lease runs out it is claimed again and a second task is made (WeCom's
add_msg_template has no idempotency key), so that window can repeat one task, as the robot path can
repeat one push. The group owner then sees two tasks; WeCom's one-a-day limit refuses the second
for groups the first reached.

WeCom lets a customer group or customer receive one 企业群发 a day: before a task is made each of
its groups is counted in the daily push counts (identity: the chat id, cap 1; a tags audience:
its tag set). Groups over the limit are left out of the task and recorded (``limited``); when no
group is left, the delivery is skipped with the reason, and no task WeCom would refuse is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from siyu.core.errors import Unavailable
from siyu.delivery.outcome import SendOutcome
from siyu.delivery.retry import RetryPolicy
from siyu.sop import rules
from siyu.sop.audience import WECOM_TAGS, tags_identity
from siyu.sop.group_rules import CHECK_EVERY, OVER_DAILY_LIMIT, refused_results, settle
from siyu.sop.ports import GroupMessageRefused, GroupMessenger, GroupTask, ImageFiles, SopStore
from siyu.sop.rules import Delivery, Plan, Step, zone

# WeCom counts its one-a-day limit by the China day (Beijing time), not by the plan's time zone.
WECOM_DAY_ZONE = "Asia/Shanghai"

PICTURE_URL_SECONDS = 86400


@dataclass
class GroupSend:
    sop: SopStore
    messenger: GroupMessenger
    files: ImageFiles
    retry: RetryPolicy
    check_every: timedelta = CHECK_EVERY  # how often a task's results are read while it awaits staff

    def send(self, plan: Plan, step: Step, delivery: Delivery, now: datetime) -> str:
        """Make the task of a claimed delivery; the delivery then awaits staff."""
        tags = plan.audience.get("kind") == WECOM_TAGS
        chat_ids = delivery.chat_ids
        if not delivery.cap_counted:
            day = now.astimezone(zone(WECOM_DAY_ZONE)).date().isoformat()  # WeCom's day, whatever the plan's
            if tags:
                if not self.sop.count_push(tags_identity(plan.audience["tags"]), day, 1):
                    return self._finish(delivery, rules.SKIPPED, now, reason=f"these tags are {OVER_DAILY_LIMIT}")
                self.sop.mark_cap_counted(plan.id, delivery.id)
            else:
                chat_ids = tuple(c for c in delivery.chat_ids if self.sop.count_push(c, day, 1))
                limited = [c for c in delivery.chat_ids if c not in chat_ids]
                self.sop.limit_chats(plan.id, delivery.id, chat_ids, limited)
                if not chat_ids:
                    reason = f"every group is {OVER_DAILY_LIMIT}"
                    return self._finish(delivery, rules.SKIPPED, now, reason=reason)
        task = GroupTask(
            chat_type="single" if tags else "group",
            sender=delivery.sender,
            chat_ids=chat_ids,
            tags=tuple(plan.audience.get("tags", ())) if tags else (),
            content=step.content,
            image=self._image(step),
            picture_url=self._picture_url(step),
        )
        try:
            msgid, refused = self.messenger.create_task(task)
        except GroupMessageRefused as error:
            return self._finish(delivery, rules.FAILED, now, error=str(error))
        except Unavailable as error:
            retry_at = self.retry.next_attempt(delivery.attempts, now)
            status = rules.FAILED if retry_at is None else rules.RETRY
            return self._finish(delivery, status, now, error=error.message, retry_at=retry_at)
        refusals = refused_results(refused, delivery.sender)
        self.sop.task_created(plan.id, delivery.id, msgid, refusals, now, now + self.check_every)
        return rules.AWAITING_STAFF

    def check(self, delivery: Delivery, now: datetime) -> str:
        """Read the task's results; record them and the status they settle to (or the next check)."""
        assert delivery.msgid is not None, "a delivery awaiting staff has its task"
        try:
            reported = self.messenger.task_results(delivery.msgid)
        except (Unavailable, GroupMessageRefused):
            return rules.AWAITING_STAFF  # handed over again when the hand-over runs out
        settled = settle(delivery, reported, now)
        reminders = delivery.reminders
        try:
            if settled.remind:
                self.messenger.remind(delivery.msgid)
                reminders += 1
            if settled.cancel:
                self.messenger.cancel(delivery.msgid)
        except (Unavailable, GroupMessageRefused):
            pass  # a reminder or cancel WeCom refused is not worth holding the results for
        check_at = now + self.check_every if settled.status == rules.AWAITING_STAFF else None
        self.sop.record_results(
            delivery.plan_id, delivery.id, settled.status, settled.results, settled.counts, now, check_at, reminders
        )
        return settled.status

    def _image(self, step: Step) -> bytes | None:
        content = step.content
        if content.image_key and content.kind in (rules.IMAGE, rules.MINIPROGRAM):
            return self.files.get(content.image_key)
        return None

    def _picture_url(self, step: Step) -> str:
        content = step.content
        if content.kind != rules.LINK:
            return ""
        if content.picture_url or not content.image_key:
            return content.picture_url
        return self.files.download_url(content.image_key, PICTURE_URL_SECONDS)

    def _finish(self, delivery: Delivery, status: str, now: datetime, **outcome: object) -> str:
        self.sop.finish_delivery(delivery.plan_id, delivery.id, SendOutcome(status, now, **outcome))  # type: ignore[arg-type]
        return status
