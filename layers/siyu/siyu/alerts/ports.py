"""What the alert services need from storage: the repositories' interfaces.

``siyu.alerts.repository`` and ``siyu.alerts.watch_repository`` implement them against
DynamoDB and SNS; ``tests/fakes/alerts.py`` in memory, with the same conditions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from siyu.alerts.destinations import AlertDestination, AlertMessage
from siyu.alerts.records import AlertRecord, DueCode, WatchState
from siyu.live_codes.model import LiveCode
from siyu.wecom.records import GroupFact


class AlertStore(Protocol):
    """Alert destinations and the alert log."""

    def put_destination(self, destination: AlertDestination) -> None: ...

    def destinations(self) -> list[AlertDestination]: ...

    def delete_destination(self, destination_id: str) -> None: ...

    def record(self, code_id: str, ref: str) -> AlertRecord | None:
        """The alert record `ref` (``AlertMessage.ref``) of a code, read consistently."""
        ...

    def update_deliveries(self, record: AlertRecord) -> None:
        """Store the record's delivery states (its message never changes)."""
        ...

    def log(self, code_id: str | None, limit: int, cursor: str | None) -> tuple[list[AlertRecord], str | None]:
        """Alert records newest first, for one code or all of them, a page at a time."""
        ...


class CodeWatch(Protocol):
    """The rotation job's view of the codes: which are due, the lease, the watch state."""

    def due(self, now: datetime) -> Iterator[DueCode]: ...

    def claim(self, code_id: str, seen_due_at: str, run_id: str, now: datetime, lease: timedelta) -> bool:
        """Take the code for this run, unless another run holds it or it was made due anew."""
        ...

    def counters(self, code_id: str) -> Mapping[str, int]:
        """Scans per target (and ``fallback``)."""
        ...

    def store_transition(
        self, code_id: str, run_id: str, seen_due_at: str, watch: WatchState, new_records: Sequence[AlertRecord]
    ) -> bool:
        """The code's new watch state and its new alert records, all or nothing (each record written
        at most once). False when this run no longer holds the code or it was made due anew."""
        ...

    def finish(self, code_id: str, run_id: str, watch: WatchState, seen_due_at: str, next_due: datetime | None) -> None:
        """Store the watch state, set the next check (None: never) and release the lease; if the
        code was made due anew meanwhile, keep that due time and only release."""
        ...

    def release(self, code_id: str, run_id: str) -> None:
        """Give the code back without touching its due time."""
        ...


class Topic(Protocol):
    """The stack's alert topic: e-mail destinations subscribe to it, filtered by destination id."""

    @property
    def configured(self) -> bool: ...

    def publish(self, destination_id: str, message: AlertMessage) -> None:
        """Send `message` to the destination's subscribers, or raise DeliveryFailed."""
        ...

    def subscribe(self, destination_id: str, email: str) -> str | None:
        """Subscribe `email` to the messages for this destination; the subscription's ARN (or
        "pending confirmation")."""
        ...

    def unsubscribe(self, subscription_arn: str) -> None: ...


class CodeLookup(Protocol):
    """Whether a live code exists (``siyu.live_codes.repository.CodesTable``)."""

    def load(self, code_id: str, consistent: bool = False) -> tuple[LiveCode | None, Any]: ...


class GroupFacts(Protocol):
    """The customer groups a code's join ways sent customers into (``siyu.wecom.contacts_repository
    .ContactsTable``): their sizes as the WeCom worker last saw them, and which WeCom made itself."""

    def groups_of_code(self, code_id: str) -> Sequence[GroupFact]: ...
