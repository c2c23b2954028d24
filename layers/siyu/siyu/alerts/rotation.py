"""The rotation job (EventBridge schedule): look at every code that is due, record switches,
raise and resolve alerts, deliver them, and set when to look again.

It reads only what is due: codes come from the due-time index, each claimed with a
conditional lease so that two overlapping runs never process the same code twice. A code's
new alert records and its watch state are written in one transaction before anything is sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from siyu.alerts.destinations import AlertDestination, AlertMessage, deliver
from siyu.alerts.ports import AlertStore, CodeWatch, GroupFacts, Topic
from siyu.alerts.records import FAILED, PENDING, SENT, AlertRecord, DeliveryState, DueCode, OpenAlert, WatchState
from siyu.alerts.watch_rules import WatchSettings, conditions, current_target_id, lapsed, next_check, runway
from siyu.alerts.wording import resolved_text, switched_text
from siyu.core.clock import to_iso, utcnow
from siyu.core.ids import run_id, stable_id
from siyu.delivery.retry import RetryPolicy
from siyu.delivery.sender import DeliveryFailed
from siyu.live_codes.model import ARCHIVED, LiveCode
from siyu.wecom.records import GroupFact

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
RATE_WINDOW = timedelta(minutes=5)  # shortest window a scan rate is measured over


@dataclass
class RunReport:
    due: int = 0
    claimed: int = 0
    raised: int = 0
    resolved: int = 0
    switched: int = 0
    delivered: int = 0
    failed: int = 0
    errors: int = 0


@dataclass
class RotationJob:
    watch: CodeWatch
    alerts: AlertStore
    topic: Topic
    settings: WatchSettings = field(default_factory=WatchSettings)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = utcnow
    groups: GroupFacts | None = None  # None: no WeCom connected (join-way groups are not watched)

    def run(self) -> RunReport:
        now, run, report = self.clock(), run_id(), RunReport()
        destinations: list[AlertDestination] | None = None
        for due in self.watch.due(now):
            report.due += 1
            try:
                if not self.watch.claim(due.code.id, due.seen_due_at, run, now, LEASE):
                    continue  # another run has it, or an edit made it due anew (next run takes it)
                report.claimed += 1
                if destinations is None:
                    destinations = self.alerts.destinations()
                self.check(due, run, now, destinations, report)
            except Exception:  # one broken code must not stop the others; its lease lapses, a later run retries
                logger.exception("rotation of code %s failed", due.code.id)
                report.errors += 1
        return report

    def check(
        self, due: DueCode, run: str, now: datetime, destinations: Sequence[AlertDestination], report: RunReport
    ) -> None:
        """Look at one claimed code: store what changed with its new alerts, deliver, finish."""
        code, watch = due.code, due.watch
        scans = self.watch.counters(code.id)
        rate, scans_total, scans_at = _scan_rate(watch, sum(scans.values()), now)
        opened = dict(watch.open)
        holding = conditions(code, scans, now, self.settings, rate, opened, self._groups(code))
        messages: list[AlertMessage] = []

        for key, condition in holding.items():
            if key not in opened:
                opened[key] = OpenAlert(_whole(now), condition.severity)
                messages.append(_message(code, "raised", key, condition.severity, condition.message, now))
                report.raised += 1
        for key in [k for k in opened if k not in holding]:
            opened.pop(key)
            if code.status != ARCHIVED and not lapsed(key, code, now):
                messages.append(_message(code, "resolved", key, "info", resolved_text(key), now))
                report.resolved += 1

        current = None if code.status == ARCHIVED else current_target_id(code, scans, now)
        previous = watch.current_target_id
        if previous and current and current != previous:
            text = switched_text(previous, current, why_left(code, previous, scans, now))
            messages.append(_message(code, "switched", f"switched:{previous}:{current}", "info", text, now))
            report.switched += 1

        covering = [d for d in destinations if d.covers(code.id)]
        pending = dict(watch.pending)  # record ref -> next attempt
        records = []
        for message in messages:
            records.append(AlertRecord(message, {d.id: DeliveryState() for d in covering}))
            if covering:
                pending[message.ref] = _whole(now)
        state = WatchState(opened, current, rate, scans_total, scans_at, dict(pending))
        if not self.watch.store_transition(code.id, run, due.seen_due_at, state, records):
            # Edited or filled since we claimed it (or the lease lapsed): say nothing now, the
            # next run looks at the code as it is then.
            self.watch.release(code.id, run)
            return

        by_id = {d.id: d for d in destinations}
        for ref, next_attempt in list(pending.items()):
            if next_attempt <= now:
                retry_at = self._deliver(code.id, ref, by_id, now, report)
                if retry_at:
                    pending[ref] = retry_at
                else:
                    pending.pop(ref)
        span = runway(code, scans, now, rate)
        due_at = None if code.status == ARCHIVED else next_check(code, now, self.settings, span, bool(opened))
        if pending:
            due_at = min([d for d in (due_at,) if d] + list(pending.values()))
        self.watch.finish(code.id, run, replace(state, pending=pending), due.seen_due_at, due_at)

    def _groups(self, code: LiveCode) -> Sequence[GroupFact]:
        """The customer groups of the code's join ways (read only for codes that have one)."""
        if self.groups is None or not any(t.wecom_chat_ids for t in code.targets):
            return ()
        return self.groups.groups_of_code(code.id)

    def _deliver(
        self, code_id: str, ref: str, destinations: Mapping[str, AlertDestination], now: datetime, report: RunReport
    ) -> datetime | None:
        """Send one record's pending deliveries that are due; returns when to retry, if ever."""
        record = self.alerts.record(code_id, ref)
        if record is None:
            return None
        deliveries = dict(record.deliveries)
        for destination_id, state in record.deliveries.items():
            if not state.due(now):
                continue
            destination = destinations.get(destination_id)
            attempts = state.attempts + 1
            try:
                if destination is None:
                    raise DeliveryFailed("the channel was deleted")
                deliver(destination, record.message, self.topic)
            except DeliveryFailed as error:
                retry_at = self.retry.next_attempt(attempts, now) if destination is not None else None
                failed = replace(state, attempts=attempts, last_error=str(error))
                if retry_at is None:
                    deliveries[destination_id] = replace(failed, status=FAILED)
                    report.failed += 1
                else:
                    deliveries[destination_id] = replace(failed, next_attempt_at=_whole(retry_at))
                continue
            deliveries[destination_id] = replace(
                state, attempts=attempts, status=SENT, sent_at=_whole(now), next_attempt_at=None
            )
            report.delivered += 1
        self.alerts.update_deliveries(replace(record, deliveries=deliveries))
        waiting = [s.next_attempt_at for s in deliveries.values() if s.status == PENDING and s.next_attempt_at]
        return min(waiting) if waiting else None


def _whole(instant: datetime) -> datetime:
    """`instant` as stored (to the second), so this run computes with what the next one reads."""
    return instant.replace(microsecond=0)


def _scan_rate(watch: WatchState, total: int, now: datetime) -> tuple[float | None, int, datetime]:
    """Scans per hour since the last measurement, and the baseline (total, when) to keep."""
    before, at = watch.scans_total, watch.scans_at
    if before is None or at is None:
        return watch.scans_per_hour, total, _whole(now)
    elapsed = now - at
    if elapsed < RATE_WINDOW:
        return watch.scans_per_hour, before, at
    rate = max(total - before, 0) / (elapsed.total_seconds() / 3600)
    return rate, total, _whole(now)


def _message(code: LiveCode, event: str, condition: str, severity: str, text: str, now: datetime) -> AlertMessage:
    # The id is derived from what happened, so a retried transaction can never record it twice.
    return AlertMessage(
        id=stable_id(f"{code.id}|{event}|{condition}|{to_iso(now)}"),
        code_id=code.id,
        code_name=code.name,
        event=event,
        condition=condition,
        severity=severity,
        text=text,
        occurred_at=now,
    )


def why_left(code: LiveCode, target_id: str, scans: Mapping[str, int], now: datetime) -> str:
    """Why the job no longer sends scanners to `target_id`: a reason of ``wording.LEFT_BECAUSE``."""
    target = code.target(target_id)
    if target is None:
        return "deleted"
    if not target.enabled:
        return "disabled"
    if target.expires_at <= now:
        return "expired"
    if scans.get(target_id, 0) >= code.switch_threshold:
        return "full"
    return "reordered"
