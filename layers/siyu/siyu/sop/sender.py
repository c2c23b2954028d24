"""The SOP sender behind the job's queue: sends each handed-over delivery once.

It claims a delivery with a conditional update before sending, so each delivery is sent once
however often it is handed over; a failed send is retried with backoff through the due index,
then shown as failed.

Exactly once, and its limit: a crash after a send and before its record leaves the delivery
"sending"; once its lease runs out it is sent again. Generic webhooks get an
``Idempotency-Key`` header (the delivery id) to drop such a repeat; the WeCom robot API has no
such key, so there a crash in that window can repeat one push.

A 企业群发 delivery (channel ``wecom_groupmsg``) goes through ``group_sender.GroupSend``: a task
made once, then, each time the job hands the delivery over while it awaits staff, its results read.
A reminder delivery (channel ``reminder``) goes through ``reminder_sender.ReminderSend``: its guides
reminded once with a task link, then, handed over at the link's expiry, settled.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from siyu.core.clock import utcnow
from siyu.delivery.outcome import SendOutcome
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import DeliveryFailed, send_robot, send_webhook
from siyu.sop import rules
from siyu.sop.audience import audience_destinations
from siyu.sop.group_rules import CHECK_EVERY
from siyu.sop.group_sender import GroupSend
from siyu.sop.job import SEND_LEASE
from siyu.sop.ports import ChatDirectory, CodeGroups, GroupMessenger, ImageFiles, SopStore, StaffReminders
from siyu.sop.reminder_sender import ReminderSend
from siyu.sop.rules import Content, Destination, zone

NOT_DUE = "not_due"
RECHECK_GAP = timedelta(minutes=1)


def audience_identity(destination: Destination) -> str:
    """Who the daily cap protects: the receiving group, whichever plan pushes to it."""
    return hashlib.sha256(destination.url.encode()).hexdigest()[:24]


def send_content(destination: Destination, content: Content, delivery_id: str, files: ImageFiles) -> None:
    """Send one piece of content to one destination, or raise DeliveryFailed."""
    if destination.channel == rules.WECOM_ROBOT:
        send_robot(destination.url, robot_message(content, files))
        return
    payload = {"delivery_id": delivery_id, "content": webhook_content(content, files)}
    send_webhook(destination.url, destination.secret, "sop_push", payload, idempotency_key=delivery_id)


@dataclass
class SopSender:
    sop: SopStore
    codes: CodeGroups
    files: ImageFiles
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = utcnow
    push: Callable[[Destination, Content, str, ImageFiles], None] = send_content
    chats: ChatDirectory | None = None
    messenger: GroupMessenger | None = None  # 企业群发 (deliveries of WeCom audiences)
    check_every: timedelta = CHECK_EVERY  # how often a 企业群发 task's results are read
    # Reminder mode: WeCom app messages, the task links' signing key and base URL, the robot sender.
    reminders: StaffReminders | None = None
    signing_key: Callable[[], bytes] | None = None
    task_base_url: Callable[[], str] = lambda: ""
    robot: Callable[[str, dict[str, Any]], None] = send_robot

    def send(self, plan_id: str, delivery_id: str) -> str:
        """Send one delivery if it is still to be sent (or read its task's results if it awaits
        staff); returns what happened."""
        now = self.clock()
        delivery = self.sop.claim_delivery(plan_id, delivery_id, now, SEND_LEASE)
        if delivery is None:
            current = self.sop.delivery(plan_id, delivery_id)
            if current is not None and current.status == rules.AWAITING_STAFF and current.channel == rules.REMINDER:
                return self._reminder_send().expire(current, now)
            group = self._group_send()
            if group is not None:
                current = self.sop.delivery(plan_id, delivery_id)
                if current is not None and current.status == rules.AWAITING_STAFF and self._check_due(current, now):
                    return group.check(current, now)
            return NOT_DUE  # sent, being sent by someone else, finished, or waiting for its time
        found = self.sop.plan(plan_id)
        if found is None or found[0].status != rules.ACTIVE:
            self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.HELD, now, reason="the plan is paused"))
            return rules.HELD
        plan = found[0]
        step = next((s for s in plan.steps if s.id == delivery.step_id), None)
        if delivery.channel == rules.WECOM_GROUPMSG:
            group = self._group_send()
            if step is None or group is None:
                reason = "the step was removed from the plan" if step is None else "no WeCom messenger here"
                self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.CANCELLED, now, reason=reason))
                return rules.CANCELLED
            return group.send(plan, step, delivery, now)
        chats = self.chats if delivery.channel == rules.REMINDER else None
        destinations = audience_destinations(plan, self.codes, chats)
        destination = next((d for d in destinations if d.key == delivery.destination_key), None)
        if step is None or destination is None:
            reason = "the step was removed from the plan" if step is None else "the target is gone or has no robot"
            self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.CANCELLED, now, reason=reason))
            return rules.CANCELLED
        if delivery.channel == rules.REMINDER:
            return self._reminder_send().send(plan, delivery, now)
        if not delivery.cap_counted:
            day = now.astimezone(zone(plan.time_zone)).date().isoformat()
            if not self.sop.count_push(audience_identity(destination), day, plan.guards.daily_cap):
                reason = f"the target already received {plan.guards.daily_cap} pushes today"
                self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.SKIPPED, now, reason=reason))
                return rules.SKIPPED
            self.sop.mark_cap_counted(plan_id, delivery_id)
        try:
            self.push(destination, step.content, delivery_id, self.files)
        except DeliveryFailed as error:
            retry_at = self.retry.next_attempt(delivery.attempts, now)
            if retry_at is None:
                self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.FAILED, now, error=str(error)))
                return rules.FAILED
            self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.RETRY, now, str(error), retry_at))
            return rules.RETRY
        self.sop.finish_delivery(plan_id, delivery_id, SendOutcome(rules.SENT, now))
        return rules.SENT

    def _check_due(self, delivery: rules.Delivery, now: datetime) -> bool:
        """A task's results are read when the job hands its delivery over, not again for a repeated message."""
        gap = min(RECHECK_GAP, self.check_every)
        return delivery.updated_at is None or now - delivery.updated_at >= gap

    def _reminder_send(self) -> ReminderSend:
        key = self.signing_key or _no_key
        return ReminderSend(self.sop, self.reminders, key, self.task_base_url, self.robot, self.retry)

    def _group_send(self) -> GroupSend | None:
        return GroupSend(self.sop, self.messenger, self.files, self.retry, self.check_every) if self.messenger else None


def _no_key() -> bytes:
    raise RuntimeError("this sender has no signing key: reminder-mode plans cannot be sent here")


def robot_message(content: Content, files: ImageFiles) -> dict[str, Any]:
    """The WeCom group robot message for `content` (text, markdown, image, news)."""
    if content.kind == rules.TEXT:
        return {"msgtype": "text", "text": {"content": content.text}}
    if content.kind == rules.MARKDOWN:
        return {"msgtype": "markdown", "markdown": {"content": content.text}}
    if content.kind == rules.IMAGE and content.image_key:
        data = files.get(content.image_key)
        return {
            "msgtype": "image",
            "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
        }
    if content.kind == rules.LINK:
        article = {"title": content.title, "description": content.description, "url": content.url}
        picture = content.picture_url or (files.download_url(content.image_key) if content.image_key else "")
        if picture:
            article["picurl"] = picture
        return {"msgtype": "news", "news": {"articles": [article]}}
    raise DeliveryFailed(f"a WeCom robot cannot send {content.kind} content")


def webhook_content(content: Content, files: ImageFiles) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": content.kind}
    if content.kind in (rules.TEXT, rules.MARKDOWN):
        body["text"] = content.text
    if content.kind in (rules.LINK, rules.MINIPROGRAM):
        body.update(title=content.title)
    if content.kind == rules.LINK:
        body.update(description=content.description, url=content.url, picture_url=content.picture_url or None)
    if content.kind == rules.MINIPROGRAM:
        body.update(appid=content.appid, page=content.page)
    if content.image_key:
        body["image_url"] = files.download_url(content.image_key, seconds=86400)
    return body
