"""The SOP job (every minute): expands the plans that are due into deliveries and hands the due
deliveries to the send queue.

The job finds the plans that are due through the due-time index (never a table scan), claims
each with a lease, expands its steps into deliveries for every destination whose time has come,
and creates each delivery with a conditional put keyed by (occurrence, step, destination): a
second run, even at the same moment, creates nothing twice. It then hands every delivery that is
due to the send queue, where the sender (``siyu.sop.sender``) takes it.

A 企业群发 audience's groups are gathered by owner: one delivery per (occurrence, step, group
owner) holding that owner's chat ids (2000 at most: more make a second delivery, ``s:<owner>:2``);
the owners are read once per run (``groupchat/get`` through the ``GroupMessenger``). A tags
audience is one delivery per (occurrence, step). A delivery awaiting staff comes due again when
its results are to be read: the same hand-over takes it to the sender, which reads them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from siyu.core.clock import utcnow
from siyu.core.errors import SiyuError
from siyu.core.ids import run_id
from siyu.sop.audience import WECOM_TAGS, audience_destinations, rechecked, sends_groupmsg
from siyu.sop.group_rules import batches, by_owner
from siyu.sop.ports import (
    ChatDirectory,
    CodeGroups,
    GroupMessageRefused,
    GroupMessenger,
    PlanProgress,
    SendQueue,
    SopStore,
)
from siyu.sop.rules import (
    ACTIVE,
    LOOKAHEAD,
    QUEUED,
    SKIPPED,
    WAITING,
    WECOM_GROUPMSG,
    Delivery,
    Destination,
    Plan,
    Step,
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
    chats: ChatDirectory | None = None  # a code's join-way groups (wecom_groups audiences)
    messenger: GroupMessenger | None = None  # the groups' owners (企业群发 audiences)
    _owners: dict[str, str] = field(default_factory=dict, repr=False)  # chat id -> owner, this run

    def run(self, now: datetime | None = None) -> JobReport:
        now = now or self.clock()
        run = run_id()
        self._owners = {}
        report = JobReport()
        read_before = self.sop.items_read
        for plan_id, seen in list(self.sop.due_plans(now)):
            if self.sop.claim_plan(plan_id, seen, run, now, PLAN_LEASE):
                report.plans += 1
                try:
                    self._expand(plan_id, run, now, report)
                # A plan whose dates cannot be computed, or whose groups' owners WeCom did not give:
                # the others go on; this one is looked at again when its lease runs out.
                except (ValueError, OverflowError, SiyuError, GroupMessageRefused):
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
        destinations = audience_destinations(plan, self.codes, self.chats)
        if sends_groupmsg(plan):
            self._expand_wecom(plan, progress, destinations, now, report)
        else:
            for step in plan.steps:
                for destination in destinations:
                    start = destination.start or plan.start
                    for scheduled in occurrences(step.schedule, start, tz, progress.scanned_until, now):
                        self._create(plan, step, scheduled, destination, now, report)
        self.sop.finish_plan(plan_id, run, now, self._next_due(plan, destinations, now))

    def _create(
        self,
        plan: Plan,
        step: Step,
        scheduled: datetime,
        to: Destination,
        now: datetime,
        report: JobReport,
        refused: str | None = None,  # never to be sent, and why
        **extra: Any,
    ) -> None:
        tz = zone(plan.time_zone)
        send_at = send_time(scheduled, plan.guards, tz)
        late = too_late(send_at, now, plan.guards)
        skipped = f"more than {plan.guards.max_delay_minutes} minutes late" if late else refused
        delivery = Delivery(
            id=delivery_id(scheduled, step.id, to.key),
            plan_id=plan.id,
            step_id=step.id,
            step_name=step.name,
            destination_key=to.key,
            destination_name=to.name,
            channel=to.channel,
            scheduled_for=scheduled,
            send_at=send_at,
            status=SKIPPED if skipped else (WAITING if send_at > now else QUEUED),
            reason=skipped,
            created_at=now,
            **extra,
        )
        if self.sop.create_delivery(delivery, None if skipped else send_at):
            report.deliveries_created += 1
            report.skipped += skipped is not None

    def _expand_wecom(
        self, plan: Plan, progress: PlanProgress, destinations: list[Destination], now: datetime, report: JobReport
    ) -> None:
        """One delivery per (occurrence, step, group owner) with the owner's groups; for tags, one
        per (occurrence, step)."""
        tz = zone(plan.time_zone)
        due: dict[tuple[datetime, str], list[str]] = defaultdict(list)
        steps = {step.id: step for step in plan.steps}
        for step in plan.steps:
            for destination in destinations:
                start = destination.start or plan.start
                for scheduled in occurrences(step.schedule, start, tz, progress.scanned_until, now):
                    due[(scheduled, step.id)].append(destination.key)
        if not due:
            return
        if plan.audience.get("kind") == WECOM_TAGS:
            sender = plan.audience.get("sender")
            (tags,) = destinations
            for scheduled, step_id in due:
                self._create(plan, steps[step_id], scheduled, tags, now, report, sender=sender)
            return
        owners = self._owners_of(sorted({key[2:] for keys in due.values() for key in keys}))
        for (scheduled, step_id), keys in due.items():
            chats = [key[2:] for key in keys]
            for owner, owned in by_owner(chats, owners).items():
                for number, batch in enumerate(batches(owned), 1):
                    to = Destination(f"s:{owner}" + (f":{number}" if number > 1 else ""), owner, WECOM_GROUPMSG, "")
                    self._create(plan, steps[step_id], scheduled, to, now, report, sender=owner, chat_ids=batch)
            for chat in (c for c in chats if c not in owners):
                to = Destination(f"c:{chat}", chat, WECOM_GROUPMSG, "")
                reason = "WeCom does not know this customer group (groupchat/get refused it): no task was made"
                self._create(plan, steps[step_id], scheduled, to, now, report, reason, chat_ids=(chat,))

    def _owners_of(self, chat_ids: list[str]) -> dict[str, str]:
        """The owners of `chat_ids`, each read once per run."""
        if self.messenger is None:
            raise GroupMessageRefused("the SOP job has no WeCom messenger: 企业群发 plans cannot run here")
        unknown = [c for c in chat_ids if c not in self._owners]
        if unknown:
            self._owners.update(self.messenger.group_owners(unknown))
        return {c: self._owners[c] for c in chat_ids if c in self._owners}

    def _next_due(self, plan: Plan, destinations: list[Destination], now: datetime) -> datetime | None:
        tz = zone(plan.time_zone)
        upcoming = []
        for step in plan.steps:
            for destination in destinations:
                start = destination.start or plan.start
                found = next(occurrences(step.schedule, start, tz, now, now + LOOKAHEAD), None)
                if found is not None:
                    upcoming.append(found)
        if rechecked(plan):
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
