"""In-memory fakes of the alert repositories (``siyu.alerts.ports``), with the real ones' conditions:
a lease held by another run is refused, a code made due anew refuses the job's writes, an alert
record is created at most once, and a transition is all or nothing."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from siyu.alerts.destinations import AlertDestination, AlertMessage
from siyu.alerts.records import AlertRecord, DueCode, WatchState
from siyu.core.clock import to_iso, to_precise_iso
from siyu.delivery.sender import DeliveryFailed
from siyu.live_codes.model import LiveCode


class FakeAlerts:
    """AlertStore: destinations and the alert log."""

    def __init__(self) -> None:
        self.by_id: dict[str, AlertDestination] = {}
        self.records: dict[tuple[str, str], AlertRecord] = {}

    def put_destination(self, destination: AlertDestination) -> None:
        self.by_id[destination.id] = destination

    def destinations(self) -> list[AlertDestination]:
        return sorted(self.by_id.values(), key=lambda d: d.id)

    def delete_destination(self, destination_id: str) -> None:
        self.by_id.pop(destination_id, None)

    def record(self, code_id: str, ref: str) -> AlertRecord | None:
        return self.records.get((code_id, ref))

    def update_deliveries(self, record: AlertRecord) -> None:
        key = (record.message.code_id, record.message.ref)
        self.records[key] = replace(self.records[key], deliveries=dict(record.deliveries))

    def log(self, code_id: str | None, limit: int, cursor: str | None) -> tuple[list[AlertRecord], str | None]:
        chosen = [r for (c, _), r in self.records.items() if code_id in (None, c)]
        chosen.sort(key=lambda r: r.message.ref, reverse=True)
        start = int(cursor or 0)
        page = chosen[start : start + limit]
        return page, str(start + limit) if start + limit < len(chosen) else None


@dataclass
class CodeItem:
    code: LiveCode
    due_at: str | None
    watch: WatchState = field(default_factory=WatchState)
    lease_owner: str | None = None
    lease_until: str | None = None
    scans: dict[str, int] = field(default_factory=dict)


class FakeWatch:
    """CodeWatch over in-memory code items; new alert records go to `alerts`."""

    def __init__(self, alerts: FakeAlerts) -> None:
        self.alerts = alerts
        self.items: dict[str, CodeItem] = {}
        self.fail_transitions = 0  # the next n transitions are refused as if a condition failed

    # -- what the rest of the system does to code items ----------------------------------

    def add(self, code: LiveCode, now: datetime, scans: Mapping[str, int] | None = None) -> None:
        self.items[code.id] = CodeItem(code, to_precise_iso(now), scans=dict(scans or {}))

    def mark_due(self, code_id: str, now: datetime, code: LiveCode | None = None) -> None:
        """An admin edit or a filling scan: the code is due anew (its config may change)."""
        item = self.items[code_id]
        item.due_at = to_precise_iso(now)
        if code is not None:
            item.code = code

    # -- CodeWatch ------------------------------------------------------------------------

    def due(self, now: datetime) -> Iterator[DueCode]:
        bound = to_precise_iso(now)
        due = sorted((i for i in self.items.values() if i.due_at and i.due_at <= bound), key=lambda i: i.due_at or "")
        for item in due:
            yield DueCode(item.code, item.watch, item.due_at or "")

    def claim(self, code_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        item = self.items[code_id]
        if item.due_at != seen_due_at or (item.lease_until is not None and item.lease_until >= to_iso(now)):
            return False
        item.lease_owner, item.lease_until = run_id, to_iso(now + lease)
        return True

    def counters(self, code_id: str) -> Mapping[str, int]:
        return dict(self.items[code_id].scans)

    def store_transition(
        self, code_id: str, run_id: str, seen_due_at: str, watch: WatchState, new_records: Sequence[AlertRecord]
    ) -> bool:
        item = self.items[code_id]
        keys = [(r.message.code_id, r.message.ref) for r in new_records]
        if self.fail_transitions:
            self.fail_transitions -= 1
            return False
        if not self._held(item, run_id, seen_due_at) or any(k in self.alerts.records for k in keys):
            return False
        item.watch = watch
        self.alerts.records.update(zip(keys, new_records, strict=True))
        return True

    def finish(self, code_id: str, run_id: str, watch: WatchState, seen_due_at: str, next_due: datetime | None) -> None:
        item = self.items[code_id]
        if self._held(item, run_id, seen_due_at):
            item.watch = watch
            item.due_at = to_precise_iso(next_due) if next_due else None
            item.lease_owner = item.lease_until = None
        else:
            self.release(code_id, run_id)

    def release(self, code_id: str, run_id: str) -> None:
        item = self.items[code_id]
        if item.lease_owner == run_id:
            item.lease_owner = item.lease_until = None

    @staticmethod
    def _held(item: CodeItem, run_id: str, seen_due_at: str) -> bool:
        return item.lease_owner == run_id and item.due_at == seen_due_at


class FakeTopic:
    """Topic: what was published, per destination; `failures` makes the next publishes fail."""

    def __init__(self, configured: bool = True) -> None:
        self._configured = configured
        self.published: list[tuple[str, AlertMessage]] = []
        self.subscriptions: dict[str, tuple[str, str]] = {}  # arn -> (destination id, email)
        self.failures = 0

    @property
    def configured(self) -> bool:
        return self._configured

    def publish(self, destination_id: str, message: AlertMessage) -> None:
        if not self._configured:
            raise DeliveryFailed("no ALERT_TOPIC_ARN configured for e-mail alerts")
        if self.failures:
            self.failures -= 1
            raise DeliveryFailed("SNS publish failed: throttled")
        self.published.append((destination_id, message))

    def subscribe(self, destination_id: str, email: str) -> str | None:
        arn = f"arn:aws:sns:local:0:alerts:{len(self.subscriptions)}"
        self.subscriptions[arn] = (destination_id, email)
        return arn

    def unsubscribe(self, subscription_arn: str) -> None:
        del self.subscriptions[subscription_arn]
