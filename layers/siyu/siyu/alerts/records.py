"""What the rotation job keeps: a code's watch state, and each alert record with the state of
its delivery to every destination. Instants here are whole seconds (that is how they are stored)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from siyu.alerts.destinations import AlertMessage
from siyu.core.clock import to_iso
from siyu.live_codes.model import LiveCode

PENDING, SENT, FAILED = "pending", "sent", "failed"


@dataclass(frozen=True)
class DeliveryState:
    """One alert record's delivery to one destination."""

    status: str = PENDING  # pending | sent | failed
    attempts: int = 0
    next_attempt_at: datetime | None = None  # kept after a final failure: when it would have been
    last_error: str | None = None
    sent_at: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self.status == PENDING and (self.next_attempt_at is None or self.next_attempt_at <= now)


def delivery_document(state: DeliveryState) -> dict[str, Any]:
    """The delivery state as JSON: how the record stores it and how the alert log shows it."""
    document: dict[str, Any] = {"status": state.status, "attempts": state.attempts}
    if state.next_attempt_at is not None:
        document["next_attempt_at"] = to_iso(state.next_attempt_at)
    if state.last_error is not None:
        document["last_error"] = state.last_error
    if state.sent_at is not None:
        document["sent_at"] = to_iso(state.sent_at)
    return document


def delivery_status(deliveries: Mapping[str, DeliveryState]) -> str:
    """One word for a record: no_channel, pending, delivered, partly_failed or failed."""
    states = {d.status for d in deliveries.values()}
    if not states:
        return "no_channel"
    if PENDING in states:
        return "pending"
    if states == {SENT}:
        return "delivered"
    return "failed" if SENT not in states else "partly_failed"


@dataclass(frozen=True)
class AlertRecord:
    """One alert message in the log and its deliveries, by destination id."""

    message: AlertMessage
    deliveries: Mapping[str, DeliveryState] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return delivery_status(self.deliveries)


@dataclass(frozen=True)
class OpenAlert:
    """An alert condition raised and not yet resolved."""

    opened_at: datetime
    severity: str


@dataclass(frozen=True)
class WatchState:
    """What the job remembers about a code between runs."""

    open: Mapping[str, OpenAlert] = field(default_factory=dict)  # by condition key
    current_target_id: str | None = None
    scans_per_hour: float | None = None
    scans_total: int | None = None  # the baseline the next rate is measured from
    scans_at: datetime | None = None
    pending: Mapping[str, datetime] = field(default_factory=dict)  # record ref -> next delivery attempt


@dataclass(frozen=True)
class DueCode:
    """A code whose check is due, as the job read it (`seen_due_at` is needed to claim it)."""

    code: LiveCode
    watch: WatchState
    seen_due_at: str
