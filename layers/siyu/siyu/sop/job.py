"""The SOP job (every minute): expands the plans that are due into deliveries and hands the due
deliveries to the send queue.

The job finds the plans that are due through the due-time index (never a table scan), claims
each with a lease, expands its steps into deliveries for every destination whose time has come,
and creates each delivery with a conditional put keyed by (occurrence, step, destination): a
second run, even at the same moment, creates nothing twice. It then hands every delivery that is
due to the send queue, where the sender (``siyu.sop.sender``) takes it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from siyu.core.clock import utcnow
from siyu.core.ids import run_id
from siyu.sop.audience import audience_destinations, is_code_groups
from siyu.sop.ports import CodeGroups, SendQueue, SopStore
from siyu.sop.rules import (
    ACTIVE,
    LOOKAHEAD,
    QUEUED,
    SKIPPED,
    WAITING,
    Delivery,
    Destination,
    Plan,
    occurrences,
    send_time,
    too_late,
    zone,
)

logger = logging.getLogger("siyu.sop.job")

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


def delivery_id(scheduled: datetime, step_id: str, destination_key: str) -> str:
    """The delivery's key, URL-safe: occurrence (UTC), step, destination."""
    return f"{scheduled:%Y%m%dT%H%M%SZ}.{step_id}.{destination_key.replace(':', '-')}"


@dataclass
class SopJob:
    sop: SopStore
    codes: CodeGroups
    queue: SendQueue
    clock: Callable[[], datetime] = utcnow

    def run(self, now: datetime | None = None) -> JobReport:
        now = now or self.clock()
        run = run_id()
        report = JobReport()
        read_before = self.sop.items_read
        for plan_id, seen in list(self.sop.due_plans(now)):
            if self.sop.claim_plan(plan_id, seen, run, now, PLAN_LEASE):
                report.plans += 1
                try:
                    self._expand(plan_id, run, now, report)
                except (ValueError, OverflowError):  # a plan whose dates cannot be computed; the others go on
                    logger.exception("plan %s could not be expanded", plan_id)
                    report.failed_plans.append(plan_id)
        self._hand_over(now, report)
        report.items_read = self.sop.items_read - read_before
        return report

    def _expand(self, plan_id: str, run: str, now: datetime, report: JobReport) -> None:
        found = self.sop.plan(plan_id)
        if found is None:
            return
        plan, progress = found
        if plan.status != ACTIVE:
            self.sop.finish_plan(plan_id, run, now, None)  # resume makes it due again
            return
        tz = zone(plan.time_zone)
        destinations = audience_destinations(plan, self.codes)
        for step in plan.steps:
            for destination in destinations:
                start = destination.start or plan.start
                for scheduled in occurrences(step.schedule, start, tz, progress.scanned_until, now):
                    send_at = send_time(scheduled, plan.guards, tz)
                    late = too_late(send_at, now, plan.guards)
                    delivery = Delivery(
                        id=delivery_id(scheduled, step.id, destination.key),
                        plan_id=plan.id,
                        step_id=step.id,
                        step_name=step.name,
                        destination_key=destination.key,
                        destination_name=destination.name,
                        channel=destination.channel,
                        scheduled_for=scheduled,
                        send_at=send_at,
                        status=SKIPPED if late else (WAITING if send_at > now else QUEUED),
                        reason=f"more than {plan.guards.max_delay_minutes} minutes late" if late else None,
                        created_at=now,
                    )
                    if self.sop.create_delivery(delivery, None if late else send_at):
                        report.deliveries_created += 1
                        report.skipped += late
        self.sop.finish_plan(plan_id, run, now, self._next_due(plan, destinations, now))

    def _next_due(self, plan: Plan, destinations: list[Destination], now: datetime) -> datetime | None:
        tz = zone(plan.time_zone)
        upcoming = []
        for step in plan.steps:
            for destination in destinations:
                start = destination.start or plan.start
                found = next(occurrences(step.schedule, start, tz, now, now + LOOKAHEAD), None)
                if found is not None:
                    upcoming.append(found)
        if is_code_groups(plan):
            upcoming.append(now + GROUPS_RECHECK)
        return min(upcoming) if upcoming else None

    def _hand_over(self, now: datetime, report: JobReport) -> None:
        """Put every due delivery on the queue (each taken with a conditional update first)."""
        batch: list[tuple[str, str]] = []
        for plan_id, delivery, seen in list(self.sop.due_deliveries(now)):
            if self.sop.hand_over(plan_id, delivery, seen, now + SEND_LEASE):
                batch.append((plan_id, delivery))
                report.handed_over += 1
            if len(batch) == QUEUE_BATCH:
                self.queue.send(batch)
                batch = []
        if batch:
            self.queue.send(batch)
