"""The sender's reminder path: a claimed reminder delivery gets a signed, time-limited task link
(``/t/<token>``), its guides are reminded (a WeCom app ``textcard`` through ``StaffReminders``, or
a markdown message to an internal group's robot), and it awaits staff until the link expires.

Exactly once, and its limit: the delivery is claimed (status ``sending``, with a lease) before the
reminder goes out, and the outcome is recorded while the claim holds; two senders never both remind.
A crash after the reminder and before its record leaves the delivery ``sending``; once its lease
runs out it is claimed again and the guides are reminded a second time (neither message/send nor a
robot has an idempotency key), as the robot path can repeat one push.

When the job hands an awaiting delivery over again (at its link's expiry, through the send due
index), ``expire`` settles it: ``not_sent`` unless the guide marked it sent first.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from siyu.core.errors import Unavailable
from siyu.delivery.outcome import SendOutcome
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import DeliveryFailed
from siyu.sop import rules
from siyu.sop.ports import GroupMessageRefused, SopStore, StaffReminders
from siyu.sop.reminders import NOT_CONFIRMED, robot_markdown, task_expiry, task_url, textcard, token_payload
from siyu.sop.rules import Delivery, Plan, zone
from siyu.web.signed_links import sign

NOT_DUE = "not_due"


def reminder_identity(destination_key: str) -> str:
    """Who the daily cap protects in reminder mode: the group, whichever reminder plan names it."""
    return hashlib.sha256(f"reminder:{destination_key}".encode()).hexdigest()[:24]


@dataclass
class ReminderSend:
    sop: SopStore
    reminders: StaffReminders | None
    signing_key: Callable[[], bytes]
    task_base_url: Callable[[], str]
    robot: Callable[[str, dict[str, Any]], None]
    retry: RetryPolicy

    def send(self, plan: Plan, delivery: Delivery, now: datetime) -> str:
        """Remind the guides of a claimed delivery; it then awaits staff until its link expires."""
        reminder = plan.reminder
        assert reminder is not None, "a reminder delivery belongs to a plan in reminder mode"
        if not delivery.cap_counted:
            day = now.astimezone(zone(plan.time_zone)).date().isoformat()
            if not self.sop.count_push(reminder_identity(delivery.destination_key), day, plan.guards.daily_cap):
                reason = f"the group already received {plan.guards.daily_cap} pushes today"
                return self._finish(delivery, rules.SKIPPED, now, reason=reason)
            self.sop.mark_cap_counted(plan.id, delivery.id)
        expires_at = task_expiry(now, reminder)
        token = sign(token_payload(plan.id, delivery.id), expires_at, self.signing_key())
        url = task_url(self.task_base_url(), token)
        try:
            if reminder.wecom_users:
                if self.reminders is None:
                    raise GroupMessageRefused("no WeCom app messages here: WeCom users cannot be reminded")
                self.reminders.remind(reminder.wecom_users, textcard(plan, delivery, url, expires_at))
            else:
                self.robot(reminder.robot_url, robot_markdown(plan, delivery, url, expires_at))
        except GroupMessageRefused as error:
            return self._finish(delivery, rules.FAILED, now, error=str(error))
        except (Unavailable, DeliveryFailed) as error:
            retry_at = self.retry.next_attempt(delivery.attempts, now)
            status = rules.FAILED if retry_at is None else rules.RETRY
            return self._finish(delivery, status, now, error=str(error), retry_at=retry_at)
        self.sop.reminder_sent(plan.id, delivery.id, expires_at, now)
        return rules.AWAITING_STAFF

    def expire(self, delivery: Delivery, now: datetime) -> str:
        """not_sent once the task link has expired without 已发送 (a no-op before, or once settled)."""
        if delivery.task_expires_at is None or now < delivery.task_expires_at:
            return NOT_DUE
        if self.sop.reminder_expired(delivery.plan_id, delivery.id, now, NOT_CONFIRMED):
            return rules.NOT_SENT
        return NOT_DUE

    def _finish(self, delivery: Delivery, status: str, now: datetime, **outcome: object) -> str:
        self.sop.finish_delivery(delivery.plan_id, delivery.id, SendOutcome(status, now, **outcome))  # type: ignore[arg-type]
        return status
