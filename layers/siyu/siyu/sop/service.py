"""The SOP job (every minute) and the sender behind its queue.

The job finds the plans that are due through the due-time index (never a table scan), claims
each with a lease, expands its steps into deliveries for every target whose time has come,
and creates each delivery with a conditional put keyed by (occurrence, step, target): a second
run, even at the same moment, creates nothing twice. It then hands every delivery that is due
to the SQS queue. The sender (SQS, partial-batch failures) claims a delivery with a conditional
update before sending, so each delivery is sent once however often it is handed over; a failed
send is retried with backoff through the index, then shown as failed.

Exactly once, and its limit: a crash after a send and before its record leaves the delivery
"sending"; once its lease runs out it is sent again. Generic webhooks get an
``Idempotency-Key`` header (the delivery id) to drop such a repeat; the WeCom robot API has no
such key, so there a crash in that window can repeat one push.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from siyu.core.clock import utcnow
from siyu.delivery.retry import SOP_PUSH_RETRY, RetryPolicy
from siyu.delivery.sender import DeliveryFailed, send_robot, send_webhook
from siyu.live_codes.repository import CodesTable
from siyu.sop.repository import SopTable
from siyu.sop.rules import (
    ACTIVE,
    IMAGE,
    LINK,
    MARKDOWN,
    MINIPROGRAM,
    TEXT,
    WECOM_ROBOT,
    Content,
    Destination,
    Plan,
    occurrences,
    send_time,
    too_late,
    zone,
)
from siyu.storage import aws
from siyu.storage.uploads_bucket import UploadsBucket

logger = logging.getLogger("siyu.sop.service")

PLAN_LEASE = timedelta(minutes=2)
SEND_LEASE = timedelta(minutes=2)  # a delivery handed to the queue is handed over again after this
# Plans over a code's groups are looked at at least hourly: a group added since is picked up.
GROUPS_RECHECK = timedelta(hours=1)
QUEUE_BATCH = 10


@dataclass
class JobReport:
    plans: int = 0
    deliveries_created: int = 0
    skipped: int = 0
    handed_over: int = 0
    items_read: int = 0
    failed_plans: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def delivery_id(scheduled: datetime, step_id: str, destination_key: str) -> str:
    """The delivery's key, URL-safe: occurrence (UTC), step, target."""
    return f"{scheduled:%Y%m%dT%H%M%SZ}.{step_id}.{destination_key.replace(':', '-')}"


def destinations_of(plan: Plan, codes: CodesTable) -> list[Destination]:
    """The plan's targets as destinations: its named ones, or the groups behind a group code
    that have a WeCom group robot (day 0 = the day the group was added)."""
    if plan.target.get("kind") != "code_groups":
        return list(plan.destinations)
    code, _ = codes.load(plan.target["code_id"])
    if code is None:
        return []
    tz = zone(plan.time_zone)
    return [
        Destination(
            f"g:{t.id}",
            t.staff_name or f"group {t.id}",
            WECOM_ROBOT,
            t.robot_url,
            None,
            t.created_at.astimezone(tz).date(),
        )
        for t in code.targets
        if t.robot_url and t.enabled
    ]


@dataclass
class SopJob:
    sop: SopTable
    codes: CodesTable
    queue_url: str
    sqs: object
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_environment(cls) -> SopJob:
        return cls(SopTable.from_environment(), CodesTable.from_environment(), os.environ["SOP_QUEUE_URL"], aws.sqs())

    def run(self, now: datetime | None = None) -> JobReport:
        now = now or self.clock()
        run_id = uuid.uuid4().hex
        report = JobReport()
        read_before = self.sop.items_read
        for plan_id, seen in list(self.sop.due_plans(now)):
            if self.sop.claim_plan(plan_id, seen, run_id, now, PLAN_LEASE):
                report.plans += 1
                try:
                    self._expand(plan_id, run_id, now, report)
                except (ValueError, OverflowError):  # a plan whose dates cannot be computed; the others go on
                    logger.exception("plan %s could not be expanded", plan_id)
                    report.failed_plans.append(plan_id)
        self._hand_over(now, report)
        report.items_read = self.sop.items_read - read_before
        return report

    def _expand(self, plan_id: str, run_id: str, now: datetime, report: JobReport) -> None:
        found = self.sop.plan(plan_id)
        if found is None:
            return
        plan, state = found
        if plan.status != ACTIVE:
            self.sop.finish_plan(plan_id, run_id, now, None)  # resume makes it due again
            return
        tz = zone(plan.time_zone)
        targets = destinations_of(plan, self.codes)
        for step in plan.steps:
            for target in targets:
                start = target.start or plan.start
                for scheduled in occurrences(step.schedule, start, tz, state["scanned_until"], now):
                    send_at = send_time(scheduled, plan.guards, tz)
                    late = too_late(send_at, now, plan.guards)
                    status = "skipped" if late else ("waiting" if send_at > now else "queued")
                    delivery = {
                        "id": delivery_id(scheduled, step.id, target.key),
                        "plan_id": plan.id,
                        "step_id": step.id,
                        "step_name": step.name,
                        "target_key": target.key,
                        "target_name": target.name,
                        "channel": target.channel,
                        "scheduled_for": scheduled,
                        "send_at": send_at,
                        "status": status,
                        "reason": f"more than {plan.guards.max_delay_minutes} minutes late" if late else None,
                        "created_at": now,
                    }
                    if self.sop.create_delivery(plan.id, delivery, None if late else send_at):
                        report.deliveries_created += 1
                        report.skipped += late
        self.sop.finish_plan(plan_id, run_id, now, self._next_due(plan, targets, now))

    def _next_due(self, plan: Plan, targets: list[Destination], now: datetime) -> datetime | None:
        tz = zone(plan.time_zone)
        upcoming = [
            next(occurrences(step.schedule, target.start or plan.start, tz, now, now + timedelta(days=400)), None)
            for step in plan.steps
            for target in targets
        ]
        upcoming = [u for u in upcoming if u is not None]
        if plan.target.get("kind") == "code_groups":
            upcoming.append(now + GROUPS_RECHECK)
        return min(upcoming) if upcoming else None

    def _hand_over(self, now: datetime, report: JobReport) -> None:
        """Put every due delivery on the queue (each taken with a conditional update first)."""
        batch = []
        for plan_id, delivery, seen in list(self.sop.due_deliveries(now)):
            if self.sop.hand_over(plan_id, delivery, seen, now + SEND_LEASE):
                batch.append(
                    {"Id": str(len(batch)), "MessageBody": json.dumps({"plan_id": plan_id, "delivery": delivery})}
                )
                report.handed_over += 1
            if len(batch) == QUEUE_BATCH:
                self._send(batch)
                batch = []
        if batch:
            self._send(batch)

    def _send(self, batch: list[dict]) -> None:
        # A message the queue refuses is handed over again after SEND_LEASE by a later run.
        self.sqs.send_message_batch(QueueUrl=self.queue_url, Entries=batch)


@dataclass
class SopSender:
    sop: SopTable
    codes: CodesTable
    bucket: UploadsBucket
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = utcnow
    _plans: dict = field(default_factory=dict)

    @classmethod
    def from_environment(cls) -> SopSender:
        return cls(
            SopTable.from_environment(),
            CodesTable.from_environment(),
            UploadsBucket.from_environment(),
            RetryPolicy.from_environment(SOP_PUSH_RETRY),
        )

    def send(self, plan_id: str, delivery_id: str) -> str:
        """Send one delivery if it is still to be sent; returns what happened."""
        now = self.clock()
        delivery = self.sop.claim_delivery(plan_id, delivery_id, now, SEND_LEASE)
        if delivery is None:
            return "not_due"  # sent, being sent by someone else, finished, or waiting for its time
        found = self.sop.plan(plan_id)
        if found is None or found[0].status != ACTIVE:
            self.sop.finish_delivery(plan_id, delivery_id, "held", now, reason="the plan is paused")
            return "held"
        plan = found[0]
        step = next((s for s in plan.steps if s.id == delivery["step_id"]), None)
        target = next((d for d in destinations_of(plan, self.codes) if d.key == delivery["target_key"]), None)
        if step is None or target is None:
            reason = "the step was removed from the plan" if step is None else "the target is gone or has no robot"
            self.sop.finish_delivery(plan_id, delivery_id, "cancelled", now, reason=reason)
            return "cancelled"
        if not delivery.get("cap_counted"):
            day = now.astimezone(zone(plan.time_zone)).date().isoformat()
            if not self.sop.count_push(_target_identity(target), day, plan.guards.daily_cap):
                reason = f"the target already received {plan.guards.daily_cap} pushes today"
                self.sop.finish_delivery(plan_id, delivery_id, "skipped", now, reason=reason)
                return "skipped"
            self.sop.mark_cap_counted(plan_id, delivery_id)
        try:
            send_content(target, step.content, delivery_id, self.bucket)
        except DeliveryFailed as error:
            retry_at = self.retry.next_attempt(delivery["attempts"], now)
            if retry_at is None:
                self.sop.finish_delivery(plan_id, delivery_id, "failed", now, error=str(error))
                return "failed"
            self.sop.finish_delivery(plan_id, delivery_id, "retry", now, error=str(error), retry_at=retry_at)
            return "retry"
        self.sop.finish_delivery(plan_id, delivery_id, "sent", now)
        return "sent"


def _target_identity(target: Destination) -> str:
    """Who the daily cap protects: the receiving group, whichever plan pushes to it."""
    return hashlib.sha256(target.url.encode()).hexdigest()[:24]


def send_content(target: Destination, content: Content, delivery_id: str, bucket: UploadsBucket) -> None:
    """Send one piece of content to one destination, or raise DeliveryFailed."""
    if target.channel == WECOM_ROBOT:
        send_robot(target.url, robot_message(content, bucket))
        return
    payload = {"delivery_id": delivery_id, "content": webhook_content(content, bucket)}
    send_webhook(target.url, target.secret, "sop_push", payload, idempotency_key=delivery_id)


def robot_message(content: Content, bucket: UploadsBucket) -> dict:
    """The WeCom group robot message for `content` (text, markdown, image, news)."""
    if content.kind == TEXT:
        return {"msgtype": "text", "text": {"content": content.text}}
    if content.kind == MARKDOWN:
        return {"msgtype": "markdown", "markdown": {"content": content.text}}
    if content.kind == IMAGE:
        data = bucket.get(content.image_key)
        return {
            "msgtype": "image",
            "image": {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()},
        }
    if content.kind == LINK:
        article = {"title": content.title, "description": content.description, "url": content.url}
        picture = content.picture_url or (bucket.download_url(content.image_key) if content.image_key else "")
        if picture:
            article["picurl"] = picture
        return {"msgtype": "news", "news": {"articles": [article]}}
    raise DeliveryFailed(f"a WeCom robot cannot send {content.kind} content")


def webhook_content(content: Content, bucket: UploadsBucket) -> dict:
    body = {"kind": content.kind}
    if content.kind in (TEXT, MARKDOWN):
        body["text"] = content.text
    if content.kind in (LINK, MINIPROGRAM):
        body.update(title=content.title)
    if content.kind == LINK:
        body.update(description=content.description, url=content.url, picture_url=content.picture_url or None)
    if content.kind == MINIPROGRAM:
        body.update(appid=content.appid, page=content.page)
    if content.image_key:
        body["image_url"] = bucket.download_url(content.image_key, seconds=86400)
    return body
