"""The rotation job (EventBridge schedule): look at every code that is due, record switches,
raise and resolve alerts, deliver them, and set when to look again.

It reads only what is due: codes come from the due-time index, each claimed with a
conditional lease so that two overlapping runs never process the same code twice. A code's
new alert records and its watch state are written in one transaction before anything is sent.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from siyu.alerts.destinations import AlertChannel, AlertMessage, deliver
from siyu.alerts.repository import AlertsTable, record_key
from siyu.alerts.watch_rules import WatchSettings, conditions, current_target_id, lapsed, next_check, runway
from siyu.core.clock import from_iso, to_iso, utcnow
from siyu.delivery.retry import ALERT_RETRY, RetryPolicy
from siyu.delivery.sender import DeliveryFailed
from siyu.live_codes.model import ARCHIVED, LiveCode
from siyu.live_codes.repository import CodesTable
from siyu.storage import aws

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

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass
class RotationJob:
    codes: CodesTable
    alerts: AlertsTable
    sns: object
    topic_arn: str | None
    settings: WatchSettings = field(default_factory=WatchSettings)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_environment(cls) -> RotationJob:
        hours = tuple(int(h) for h in os.environ.get("EXPIRY_WARNING_HOURS", "48,24").split(",") if h.strip())
        return cls(
            CodesTable.from_environment(),
            AlertsTable.from_environment(),
            aws.sns(),
            os.environ.get("ALERT_TOPIC_ARN") or None,
            WatchSettings(tuple(sorted(hours, reverse=True)), float(os.environ.get("RUNWAY_ALERT_HOURS", "24"))),
            RetryPolicy.from_environment(ALERT_RETRY),
        )

    def run(self) -> RunReport:
        now, run_id, report = self.clock(), uuid.uuid4().hex, RunReport()
        channels: list[AlertChannel] | None = None
        for code, watch, seen_due_at in self.codes.due_codes(now):
            report.due += 1
            try:
                if not self.codes.claim(code.id, seen_due_at, run_id, now, LEASE):
                    continue  # another run has it, or an edit made it due anew (next run takes it)
                report.claimed += 1
                if channels is None:
                    channels = self.alerts.channels()
                self._check(code, watch, seen_due_at, run_id, now, channels, report)
            except Exception:  # one broken code must not stop the others; its lease lapses, a later run retries
                logger.exception("rotation of code %s failed", code.id)
                report.errors += 1
        return report

    def _check(
        self, code: LiveCode, watch: dict, seen_due_at: str, run_id: str, now: datetime, channels, report: RunReport
    ) -> None:
        scans = self.codes.counters(code.id)
        total = sum(scans.values())
        rate, baseline = _scan_rate(watch, total, now)
        opened = dict(watch.get("open", {}))
        holding = conditions(code, scans, now, self.settings, rate, opened)
        messages: list[AlertMessage] = []

        for key, condition in holding.items():
            if key not in opened:
                opened[key] = {"opened_at": to_iso(now), "severity": condition.severity}
                messages.append(_message(code, "raised", key, condition.severity, condition.message, now))
                report.raised += 1
        for key in [k for k in opened if k not in holding]:
            opened.pop(key)
            if code.status != ARCHIVED and not lapsed(key, code, now):
                messages.append(_message(code, "resolved", key, "info", f"已恢复：{_describe(key)}。", now))
                report.resolved += 1

        current = None if code.status == ARCHIVED else current_target_id(code, scans, now)
        previous = watch.get("current_target_id")
        if previous and current and current != previous:
            text = f"已自动从群二维码 {previous} 切换到 {current}（原二维码{_why_left(code, previous, scans, now)}）。"
            messages.append(_message(code, "switched", f"switched:{previous}:{current}", "info", text, now))
            report.switched += 1

        covering = [c for c in channels if c.covers(code.id)]
        pending = dict(watch.get("pending", {}))  # record sort key -> next attempt
        puts = []
        for message in messages:
            deliveries = {c.id: {"status": "pending", "attempts": 0} for c in covering}
            puts.append(self.alerts.record_put(message, deliveries))
            if deliveries:
                pending[record_key(message)["sk"]["S"]] = to_iso(now)
        state = {"open": opened, "current_target_id": current, "scans_per_hour": rate, **baseline, "pending": pending}
        update = self.codes.watch_update(code.id, run_id, state, seen_due_at)
        if not self.alerts.write_transition(update, puts):
            # Edited or filled since we claimed it (or the lease lapsed): say nothing now, the
            # next run looks at the code as it is then.
            self.codes.release(code.id, run_id)
            return

        by_id = {c.id: c for c in channels}
        for sort_key, next_attempt in list(pending.items()):
            if from_iso(next_attempt) <= now:
                retry_at = self._deliver(code.id, sort_key, by_id, now, report)
                if retry_at:
                    pending[sort_key] = to_iso(retry_at)
                else:
                    pending.pop(sort_key)
        span = runway(code, scans, now, rate)
        due_at = None if code.status == ARCHIVED else next_check(code, now, self.settings, span, bool(opened))
        if pending:
            due_at = min([d for d in (due_at,) if d] + [from_iso(v) for v in pending.values()])
        self.codes.finish(code.id, run_id, state, seen_due_at, due_at)

    def _deliver(self, code_id: str, sort_key: str, channels: dict, now: datetime, report: RunReport):
        """Send one record's pending deliveries that are due; returns when to retry, if ever."""
        found = self.alerts.record(code_id, sort_key)
        if found is None:
            return None
        message, deliveries = found
        for channel_id, state in deliveries.items():
            if state["status"] != "pending" or from_iso(state.get("next_attempt_at", to_iso(now))) > now:
                continue
            channel = channels.get(channel_id)
            state["attempts"] += 1
            try:
                if channel is None:
                    raise DeliveryFailed("the channel was deleted")
                deliver(channel, message, self.sns, self.topic_arn)
            except DeliveryFailed as error:
                state["last_error"] = str(error)
                retry_at = self.retry.next_attempt(state["attempts"], now) if channel is not None else None
                if retry_at is None:
                    state["status"] = "failed"
                    report.failed += 1
                else:
                    state["next_attempt_at"] = to_iso(retry_at)
                continue
            state.update(status="sent", sent_at=to_iso(now))
            state.pop("next_attempt_at", None)
            report.delivered += 1
        self.alerts.update_deliveries(message, deliveries)
        waiting = [from_iso(s["next_attempt_at"]) for s in deliveries.values() if s["status"] == "pending"]
        return min(waiting) if waiting else None


def _scan_rate(watch: dict, total: int, now: datetime) -> tuple[float | None, dict]:
    """Scans per hour since the last measurement, and the baseline to keep for the next one."""
    before, at = watch.get("scans_total"), watch.get("scans_at")
    if before is None or at is None:
        return watch.get("scans_per_hour"), {"scans_total": total, "scans_at": to_iso(now)}
    elapsed = now - from_iso(at)
    if elapsed < RATE_WINDOW:
        return watch.get("scans_per_hour"), {"scans_total": before, "scans_at": at}
    rate = max(total - before, 0) / (elapsed.total_seconds() / 3600)
    return rate, {"scans_total": total, "scans_at": to_iso(now)}


def _message(code: LiveCode, event: str, condition: str, severity: str, text: str, now: datetime) -> AlertMessage:
    # The id is derived from what happened, so a retried transaction can never record it twice.
    identity = f"{code.id}|{event}|{condition}|{to_iso(now)}"
    return AlertMessage(
        id=uuid.uuid5(uuid.NAMESPACE_URL, identity).hex[:16],
        code_id=code.id,
        code_name=code.name,
        event=event,
        condition=condition,
        severity=severity,
        text=text,
        occurred_at=now,
    )


def _describe(key: str) -> str:
    kind, _, target = key.partition(":")
    if kind.startswith("expiring_"):
        return f"群二维码 {target} 不再临近过期"
    return {"runway_low": "可用群二维码余量已恢复", "on_fallback": "已有可用的群二维码，扫码用户不再看到兜底文案"}.get(
        kind, key
    )


def _why_left(code: LiveCode, target_id: str, scans: dict, now: datetime) -> str:
    target = code.target(target_id)
    if target is None:
        return "已删除"
    if not target.enabled:
        return "已停用"
    if target.expires_at <= now:
        return "已过期"
    if scans.get(target_id, 0) >= code.switch_threshold:
        return "已达到切换阈值"
    return "已被调整顺序"
